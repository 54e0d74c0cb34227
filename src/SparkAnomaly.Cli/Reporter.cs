using System.Globalization;
using System.Text.Json;
using SparkAnomaly.Evaluation;
using SparkAnomaly.Scoring;
using SparkAnomaly.Training;
using Spectre.Console;

namespace SparkAnomaly.Cli;

/// <summary>
/// All human- and machine-facing output of a command. Progress and notes go to stderr (a live
/// progress bar when stderr is a terminal, one plain line per round otherwise), results to stdout
/// (text, or JSON with --json), so pipelines can parse stdout while people watch stderr.
/// </summary>
internal sealed class Reporter
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly bool _quiet;
    private readonly bool _json;
    private readonly IAnsiConsole? _live;

    /// <param name="live">Console for the live progress display (tests pass a TestConsole); default: stderr when it is a terminal.</param>
    public Reporter(TextWriter stdout, TextWriter stderr, bool quiet, bool json, IAnsiConsole? live = null)
    {
        _live = live;
        _out = stdout;
        _err = stderr;
        _quiet = quiet;
        _json = json;
    }

    private bool Interactive => !_quiet && (_live is not null || (ReferenceEquals(_err, Console.Error) && !Console.IsErrorRedirected));

    public void Info(string line)
    {
        if (!_quiet)
        {
            _err.WriteLine(line);
        }
    }

    public void Warn(string line)
    {
        if (!_quiet)
        {
            _err.WriteLine("warning: " + Cli.OneLine(line));
        }
    }

    public TrainRun WithProgress(TrainingConfig config, Func<Action<RoundStats>, TrainRun> train)
    {
        if (!Interactive)
        {
            return train(r =>
            {
                if (!_quiet)
                {
                    _err.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"round {r.Round + 1}: loss {r.Loss:F3} (recon {r.Reconstruction:F3}, kl {r.Kl:F3}, β {r.KlWeight:F2}), {r.Windows / (r.TotalMs / 1000):F0} windows/s, fit {r.FitMs:F0} ms, overhead {r.OverheadShare:P1}{(r.Retries > 0 ? $", {r.Retries} retried" : "")}"));
                }
            });
        }
        var console = _live ?? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        TrainRun? result = null;
        console.Progress()
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("training", maxValue: 1);
                result = train(r =>
                {
                    task.MaxValue = Math.Max(task.MaxValue, r.Round + 1);
                    task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"round {r.Round + 1}  loss {r.Loss:F2}  {r.Windows / (r.TotalMs / 1000):F0} win/s"));
                    task.Value = r.Round + 1;
                });
                task.Value = task.MaxValue;
            });
        return result!;
    }

    public int Result(object json, string text)
    {
        if (_json)
        {
            _out.WriteLine(JsonSerializer.Serialize(json, s_json));
        }
        else
        {
            _out.WriteLine(text);
        }
        return Cli.Ok;
    }

    public int PrintConfig(IReadOnlyList<(string Field, string Value, string Source, string? Unused)> sources)
    {
        if (_json)
        {
            _out.WriteLine(JsonSerializer.Serialize(sources.ToDictionary(s => s.Field, s => new { value = JsonDocument.Parse(s.Value).RootElement, source = s.Source, unused = s.Unused }), s_json));
            return Cli.Ok;
        }
        int width = sources.Max(s => s.Field.Length);
        foreach (var (field, value, source, unused) in sources)
        {
            _out.WriteLine($"{field.PadRight(width)}  {value,-20}  ({source}{(unused is null ? "" : $"; unused: {unused}")})");
        }
        return Cli.Ok;
    }

    public int Summary(TrainRun run, EvaluationReport? report, OutputDirectory dir, IReadOnlyList<ScoredSeries>? scored)
    {
        var rounds = run.Outcome.Rounds;
        double fitSeconds = rounds.Sum(r => r.TotalMs) / 1000;
        double windowsPerSecond = fitSeconds > 0 ? rounds.Sum(r => r.Windows) / fitSeconds : 0;
        var summary = new
        {
            output = dir.Path,
            model = dir.File("model.parquet"),
            scores = scored is null ? null : dir.File("scores.parquet"),
            stats = dir.File("stats.json"),
            chart = File.Exists(dir.File("training.png")) ? dir.File("training.png") : null,
            rounds = run.Outcome.TotalRounds,
            resumedFromRound = run.Outcome.ResumedFromRound,
            workers = run.Model.Provenance.Workers,
            trainingWindows = run.TrainingWindows,
            finalLoss = run.Model.Provenance.FinalLoss,
            windowsPerSecond,
            roundOverheadShare = rounds.Count > 0 ? rounds.Sum(r => r.TotalMs - r.FitMs) / rounds.Sum(r => r.TotalMs) : 0,
            threshold = run.Model.Threshold.Value,
            thresholdMethod = run.Model.Threshold.Method,
            seconds = run.Seconds,
            evaluation = report is null ? null : ReportJson(report),
        };
        if (_json)
        {
            _out.WriteLine(JsonSerializer.Serialize(summary, s_json));
            return Cli.Ok;
        }
        var c = CultureInfo.InvariantCulture;
        string resumed = summary.resumedFromRound > 0 ? $", resumed after round {summary.resumedFromRound}" : "";
        _out.WriteLine(string.Create(c, $"rounds          {summary.rounds} ({summary.workers} workers, {summary.trainingWindows:N0} training windows{resumed})"));
        if (rounds.Count == 0)
        {
            // A resume of a run whose checkpoint already holds every round trains nothing: no rate to show, and the loss is
            // the checkpoint's (unknown in a checkpoint written before it held one).
            string loss = double.IsFinite(summary.finalLoss) ? summary.finalLoss.ToString("F4", c) : "-";
            _out.WriteLine(string.Create(c, $"final loss      {loss} (no round trained in this run: the checkpoint already held all {summary.rounds} rounds)"));
        }
        else
        {
            _out.WriteLine(string.Create(c, $"final loss      {summary.finalLoss:F4}"));
            _out.WriteLine(string.Create(c, $"throughput      {windowsPerSecond:F0} windows/s (round overhead {summary.roundOverheadShare:P1})"));
        }
        _out.WriteLine(string.Create(c, $"threshold       {summary.threshold:G5} ({summary.thresholdMethod} of training-period scores)"));
        if (report is not null)
        {
            _out.WriteLine(ReportLine(report));
        }
        _out.WriteLine($"wrote           {string.Join(", ", new[] { summary.model, summary.scores, summary.stats, summary.chart }.Where(f => f is not null))}");
        return Cli.Ok;
    }

    public static object ReportJson(EvaluationReport r) => new
    {
        pointWise = new { precision = r.PointWise.Precision, recall = r.PointWise.Recall, f1 = r.F1, far = r.Far, mar = r.Mar, tp = r.PointWise.TP, fp = r.PointWise.FP, fn = r.PointWise.FN, tn = r.PointWise.TN },
        pointAdjustedF1 = r.PointAdjustedF1,
        eventF1 = r.EventF1,
        rocAuc = r.RocAuc,
        prAuc = r.PrAuc,
        meanTimeToDetect = r.MeanTimeToDetect,
    };

    public static string ReportLine(EvaluationReport r) => string.Create(CultureInfo.InvariantCulture,
        $"detection       point-wise precision {r.PointWise.Precision:F3}, recall {r.PointWise.Recall:F3}, F1 {r.F1:F3} (FAR {r.Far:F2}%, MAR {r.Mar:F2}%); point-adjusted F1 {r.PointAdjustedF1:F3}; ROC-AUC {r.RocAuc:F3}");
}
