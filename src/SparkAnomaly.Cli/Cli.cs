using System.CommandLine;
using SparkAnomaly.Model;

namespace SparkAnomaly.Cli;

/// <summary>
/// Entry point shared by Program and the tests. Exit codes: 0 success, 1 user error (bad input or
/// options; one line on stderr that says what to do), 2 internal error (one line, and the full
/// trace written to a file whose path the line names).
/// </summary>
public static class Cli
{
    public const int Ok = 0;
    public const int UserError = 1;
    public const int InternalError = 2;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = Commands.Build(stdout, stderr);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // The full path of the command, e.g. 'sparkanomaly benchmark skab'.
            var path = new List<string>();
            for (var r = parse.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            {
                path.Insert(0, r.Command.Name);
            }
            string command = string.Join(' ', path);
            // Name an unknown word ("sparkanomaly frobnicate") rather than the missing command it displaced.
            var error = parse.UnmatchedTokens.Count > 0 ? parse.Errors.FirstOrDefault(e => e.Message.Contains(parse.UnmatchedTokens[0], StringComparison.Ordinal)) ?? parse.Errors[0] : parse.Errors[0];
            string? option = error.SymbolResult switch
            {
                System.CommandLine.Parsing.OptionResult o => o.Option.Name,
                System.CommandLine.Parsing.ArgumentResult { Parent: System.CommandLine.Parsing.OptionResult o } => o.Option.Name,
                _ => null,
            };
            string prefix = option is null || error.Message.Contains(option, StringComparison.Ordinal) ? "" : option + ": ";
            string message = System.Text.RegularExpressions.Regex.Replace(error.Message.Replace("\t", " "), @"'System\.Nullable`1\[System\.(\w+)\]'|'System\.(\w+)'", m => $"'{m.Groups[1].Value}{m.Groups[2].Value}'");
            stderr.WriteLine($"error: {prefix}{OneLine(message)} Run '{command} --help' for usage.");
            return UserError;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (Unwrap(e) is SparkAnomalyException user)
        {
            stderr.WriteLine("error: " + OneLine(user.Message));
            return UserError;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            string trace = Path.Combine(Path.GetTempPath(), $"sparkanomaly-error-{DateTime.UtcNow:yyyyMMddHHmmss}-{Environment.ProcessId}.txt");
            try
            {
                File.WriteAllText(trace, e.ToString());
            }
            catch (IOException)
            {
                trace = "(could not be written)";
            }
            stderr.WriteLine($"internal error: {e.GetType().Name}: {OneLine(e.Message)} This is a bug in SparkAnomaly; the full trace is in {trace}.");
            return InternalError;
        }
    }

    internal static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    private static Exception Unwrap(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } or TypeInitializationException && e.InnerException is not null)
        {
            e = e.InnerException!;
        }
        return e;
    }
}
