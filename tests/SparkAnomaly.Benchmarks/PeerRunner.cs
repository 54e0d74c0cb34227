using System.Diagnostics;
using System.Text.Json.Nodes;

namespace SparkAnomaly.Benchmarks;

/// <summary>
/// Runs the PyTorch peer (bench/peer/lstm_vae_torch.py) as a child process with Debian's
/// /usr/bin/python3 and OpenBLAS selected through LD_LIBRARY_PATH (as bench/peer/run.sh does).
/// </summary>
internal sealed class PeerRunner
{
    public const string Python = "/usr/bin/python3";
    public const string OpenBlasDir = "/usr/lib/x86_64-linux-gnu/openblas-openmp";

    private PeerRunner(string script, string blas)
    {
        Script = script;
        Blas = blas;
    }

    public string Script { get; }

    /// <summary>LD_LIBRARY_PATH given to the child ("" = Debian's default BLAS alternative).</summary>
    public string Blas { get; }

    /// <summary>The runner, or null with the reason it cannot run here.</summary>
    public static PeerRunner? TryCreate(string? script, out string reason)
    {
        script ??= FindScript();
        if (script is null || !File.Exists(script))
        {
            reason = "PyTorch peer skipped: lstm_vae_torch.py not found (pass --peer-script PATH).";
            return null;
        }
        var (code, _, err) = Exec(Python, new[] { "-c", "import torch" }, null, 60);
        if (code != 0)
        {
            reason = $"PyTorch peer skipped: `{Python} -c \"import torch\"` failed ({err.Trim().Split('\n').LastOrDefault()}). Install Debian's python3-torch and libopenblas0-openmp.";
            return null;
        }
        reason = "";
        return new PeerRunner(script, File.Exists(Path.Combine(OpenBlasDir, "libblas.so.3")) ? OpenBlasDir : "");
    }

    /// <summary>One peer process: train/score/matmul medians as the peer's JSON.</summary>
    public JsonObject Run(int threads, bool quick)
    {
        var args = new List<string> { Script, "bench", "--threads", threads.ToString() };
        args.AddRange(quick
            ? new[] { "--steps", "3", "--runs", "2", "--warmup", "1", "--matmul", "512", "--mm-reps", "2" }
            : new[] { "--steps", "30", "--runs", "3", "--warmup", "5", "--matmul", "2048", "--mm-reps", "2" });
        var (code, stdout, stderr) = Exec(Python, args, Blas, quick ? 15 : 150);
        if (code != 0)
        {
            // a loaded machine can starve a 2-thread OpenMP process for minutes: report, don't abort
            return new JsonObject { ["error"] = $"exit {code}: {stderr.Trim().Split('\n').LastOrDefault()}" };
        }
        var line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.TrimStart().StartsWith('{'));
        return (JsonNode.Parse(line) as JsonObject) ?? throw new InvalidOperationException("PyTorch peer printed no JSON");
    }

    private static string? FindScript()
    {
        foreach (var dir in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(dir); d is not null; d = d.Parent)
            {
                var p = Path.Combine(d.FullName, "shared", "bench", "peer", "lstm_vae_torch.py");
                if (File.Exists(p))
                {
                    return p;
                }
            }
        }
        return null;
    }

    private static (int Code, string Stdout, string Stderr) Exec(string exe, IEnumerable<string> args, string? ldLibraryPath, int timeoutSeconds)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        if (!string.IsNullOrEmpty(ldLibraryPath))
        {
            psi.Environment["LD_LIBRARY_PATH"] = ldLibraryPath;
        }
        try
        {
            using var p = Process.Start(psi)!;
            var outTask = p.StandardOutput.ReadToEndAsync();
            var errTask = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(timeoutSeconds * 1000))
            {
                p.Kill(entireProcessTree: true);
                return (-1, "", "timed out");
            }
            return (p.ExitCode, outTask.Result, errTask.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, "", e.Message);
        }
    }
}
