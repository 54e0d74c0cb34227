using System.CommandLine;
using System.Globalization;
using System.Text;
using SparkAnomaly.Evaluation;
using SparkAnomaly.Reporting;
using SparkAnomaly.Scoring;

namespace SparkAnomaly.Cli;

internal static partial class Commands
{
    private static Command Evaluate(TextWriter stdout, TextWriter stderr)
    {
        var common = new CommonOptions();
        var scoresPath = new Option<string>("--scores") { Description = "scores.parquet written by 'sparkanomaly score' (or demo/benchmark), or the scores.parquet directory of a Spark score job.", Required = true };
        var labelsPath = new Option<string?>("--labels") { Description = "CSV or Parquet with series_id,timestamp,label (other names: --series-column, --time-column, --label-column); joined on (series, timestamp) and replaces the file's labels." };
        // The data options of train and score, here naming the columns of the --labels file.
        var columns = new DataOptions();
        var labelColumns = new Option[] { columns.SeriesColumn, columns.TimeColumn, columns.LabelColumn, columns.Delimiter };
        columns.SeriesColumn.Description = "With --labels: its column that names the series (default series_id; absent = the file is one series: the scores' series of the file's name, or their only series).";
        columns.TimeColumn.Description = "With --labels: its timestamp column (default timestamp; absent = row order: 0, 1, 2, … per series). Must be of the scores' kind: date-times, or integers.";
        columns.LabelColumn.Description = "With --labels: its 0/1 label column (default label).";
        columns.Delimiter.Description = "With --labels: the CSV delimiter (default: detected from the header).";
        var minDuration = new Option<int?>("--min-duration") { Description = "Alarm post-processing before evaluation: drop alarm runs shorter than this many steps (default 1: keep all)." };
        var mergeGap = new Option<int?>("--merge-gap") { Description = "Alarm post-processing before evaluation: merge alarm runs separated by at most this many steps (default 0)." };
        var persistence = new Option<int?>("--persistence") { Description = "Alarm post-processing before evaluation: a step alarms only after this many consecutive flagged steps, itself included (causal; default 1)." };
        var reportPath = new Option<string?>("--report") { Description = "Also write a self-contained HTML report (charts per series, ROC/PR, metrics) to this file." };
        var cmd = new Command("evaluate", "Evaluate a scores file against labels: point-wise P/R/F1/FAR/MAR (primary), point-adjusted F1, event-wise F1, ROC-AUC, PR-AUC, time to detect. Only labelled rows count, and only test rows when a split column exists. Example: sparkanomaly evaluate --scores scored/scores.parquet --report report.html");
        cmd.Options.Add(scoresPath);
        cmd.Options.Add(labelsPath);
        foreach (var o in labelColumns)
        {
            cmd.Options.Add(o);
        }
        cmd.Options.Add(reportPath);
        cmd.Options.Add(minDuration);
        cmd.Options.Add(mergeGap);
        cmd.Options.Add(persistence);
        cmd.Options.Add(common.Json);
        cmd.Options.Add(common.Quiet);
        cmd.SetAction(p =>
        {
            var ui = new Reporter(stdout, stderr, p.GetValue(common.Quiet), p.GetValue(common.Json));
            string? html = p.GetValue(reportPath);
            if (html is not null)
            {
                // Before the evaluation, which can take a while on a large scores file: a report that
                // cannot be written should fail in a second, not after it.
                CheckReportPath(html, p.GetValue(scoresPath)!, p.GetValue(labelsPath));
            }
            var labelsOptions = LabelsOptions(p, columns);
            if (p.GetValue(labelsPath) is null && labelColumns.FirstOrDefault(o => p.GetResult(o) is not null) is { } stray)
            {
                throw new SparkAnomalyException($"{stray.Name} names a column of the --labels file; pass --labels FILE too (a scores file's own columns are fixed).");
            }
            var data = ScoresReader.Read(p.GetValue(scoresPath)!);
            LabelsJoin? join = null;
            if (p.GetValue(labelsPath) is string labels)
            {
                data = ScoresEvaluation.WithLabels(data, labels, labelsOptions, out var joined);
                join = joined;
                long unmatched = joined.LabelRows - joined.Matched;
                ui.Info(string.Create(CultureInfo.InvariantCulture, $"labels: {joined.Matched:N0} of the {joined.LabelRows:N0} labelled rows of '{labels}' matched a scored row")
                    + (unmatched > 0 ? string.Create(CultureInfo.InvariantCulture, $"; {unmatched:N0} match none (steps or series that were not scored)") : ""));
            }
            var filter = new AlarmFilter(p.GetValue(minDuration) ?? 1, p.GetValue(mergeGap) ?? 0, p.GetValue(persistence) ?? 1);
            filter.Validate();
            if (filter != AlarmFilter.None)
            {
                // Merge and drop per series, over every row in file order: a gap is measured in steps of the series.
                data = data with { Series = data.Series.Select(s => s with { IsAnomaly = filter.Apply(s.IsAnomaly) }).ToList() };
            }
            var report = ScoresEvaluation.Evaluate(data);
            var rows = ScoresEvaluation.CountRows(data);
            if (html is not null)
            {
                HtmlReport.Save(html, new ReportContent($"SparkAnomaly evaluation of {Path.GetFileName(data.Source)}", report,
                    ScoresEvaluation.ToEvaluationSeries(data).Select(x => ReportSeriesFromScores(x.Series, data.Channels)).ToList(),
                    new[] { $"scores: {data.Source}", $"threshold method: {data.ThresholdMethod ?? "unknown"}" }));
                ui.Info($"wrote {html}");
            }
            return ui.Result(EvaluationJson(report, data.Source, html, rows, join), EvaluationTable(report, rows));
        });
        return cmd;
    }

    /// <summary>The --labels file's columns from the data options evaluate shares with train and score.</summary>
    private static LabelsOptions LabelsOptions(ParseResult p, DataOptions columns)
    {
        var o = new LabelsOptions();
        if (p.GetValue(columns.SeriesColumn) is string s)
        {
            o = o with { SeriesColumn = s };
        }
        if (p.GetValue(columns.TimeColumn) is string t)
        {
            o = o with { TimeColumn = t };
        }
        if (p.GetValue(columns.LabelColumn) is string l)
        {
            o = o with { LabelColumn = l };
        }
        return o with { Delimiter = columns.DelimiterChar(p) };
    }

    /// <summary>
    /// Refuses a --report path that cannot be written, or that names an input (the report would replace
    /// the scores or labels it was made from). An existing report file is replaced, as before.
    /// </summary>
    private static void CheckReportPath(string report, string scores, string? labels)
    {
        if (string.IsNullOrWhiteSpace(report))
        {
            throw new SparkAnomalyException("--report is empty. Pass the HTML file to write, e.g. --report report.html.");
        }
        string full;
        try
        {
            full = Path.GetFullPath(report);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new SparkAnomalyException($"--report '{report}' is not a valid file path ({e.Message.TrimEnd('.')}). Pass the HTML file to write, e.g. --report report.html.", e);
        }
        var comparison = OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        foreach (var (option, input) in new[] { ("--scores", scores), ("--labels", labels) })
        {
            if (!string.IsNullOrWhiteSpace(input) && string.Equals(full, Path.GetFullPath(input), comparison))
            {
                throw new SparkAnomalyException($"--report '{report}' is the {option} file: writing the report would replace it. Pass another file name, e.g. --report report.html.");
            }
        }
        if (Directory.Exists(full))
        {
            throw new SparkAnomalyException($"--report '{report}' is a directory. Pass a file name, e.g. --report {Path.Combine(report, "report.html")}.");
        }
        string directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory))
        {
            throw new SparkAnomalyException($"--report '{report}': directory '{directory}' does not exist. Create it first, or choose another --report path.");
        }
        // Create and remove an empty file of the name the write will use: the one reliable test of permission.
        string probe = Training.AtomicFile.TempNameFor(full);
        try
        {
            new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None).Dispose();
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SparkAnomalyException($"cannot write --report '{report}': {e.Message.Replace($" : '{probe}'", "", StringComparison.Ordinal).Replace($"'{probe}'", $"'{directory}'", StringComparison.Ordinal).TrimEnd('.')}. Choose a writable location for --report.", e);
        }
    }

    /// <summary>Without the input data at hand, the report draws the channels that contributed most to the score.</summary>
    private static ReportSeries ReportSeriesFromScores(ScoresSeries s, IReadOnlyList<string> channels)
    {
        int f = channels.Count;
        var signal = ScoresEvaluation.DrivingChannels(s, f, HtmlReport.MaxSignalChannels)
            .Select(c => (channels[c], Enumerable.Range(0, s.Length).Select(r => s.Contributions[r * f + c]).ToArray()))
            .ToList();
        return new ReportSeries(s.Id, s.Score, s.Threshold, s.Labels.Select(l => l == 1).ToArray(), ScoresEvaluation.LabelledMask(s), s.IsAnomaly, signal, "channel contribution");
    }

    /// <summary>The machine-readable evaluation: every number of the table, unrounded.</summary>
    internal static object EvaluationJson(EvaluationReport r, string? source = null, string? report = null, RowCounts? rows = null, LabelsJoin? labels = null) => new
    {
        scores = source,
        report,
        series = r.SeriesCount,
        rows = rows is null ? null : new { total = rows.Total, evaluated = rows.Evaluated, splitTrain = rows.SplitTrain, unlabelled = rows.Unlabelled },
        labels = labels is null ? null : new { file = labels.Path, labelledRows = labels.LabelRows, matchedRows = labels.Matched },
        pointWise = new { precision = r.PointWise.Precision, recall = r.PointWise.Recall, f1 = r.F1, far = r.Far, mar = r.Mar, tp = r.PointWise.TP, fp = r.PointWise.FP, fn = r.PointWise.FN, tn = r.PointWise.TN },
        pointAdjusted = new { precision = r.PointAdjusted.Precision, recall = r.PointAdjusted.Recall, f1 = r.PointAdjustedF1, tp = r.PointAdjusted.TP, fp = r.PointAdjusted.FP, fn = r.PointAdjusted.FN, tn = r.PointAdjusted.TN },
        eventWise = new { precision = r.Events.Precision, recall = r.Events.Recall, f1 = r.EventF1, trueEvents = r.Events.TrueEvents, detectedEvents = r.Events.DetectedEvents, alarmSegments = r.Events.AlarmSegments, falseAlarmSegments = r.Events.FalseAlarmSegments },
        rocAuc = r.RocAuc,
        prAuc = r.PrAuc,
        timeToDetect = new { mean = r.MeanTimeToDetect, median = r.MedianTimeToDetect, perEvent = r.TimesToDetect },
    };

    /// <summary>The human-readable evaluation table; point-adjusted F1 is labelled as such.</summary>
    internal static string EvaluationTable(EvaluationReport r, RowCounts? rows = null)
    {
        var c = CultureInfo.InvariantCulture;
        var pw = r.PointWise;
        string Opt(double? v) => v is double x ? x.ToString("F4", c) : "n/a";
        var sb = new StringBuilder();
        sb.AppendLine(string.Create(c, $"series evaluated        {r.SeriesCount}"));
        if (rows is not null)
        {
            sb.AppendLine(string.Create(c, $"rows evaluated          {rows.Evaluated:N0} of {rows.Total:N0}"));
            sb.AppendLine(string.Create(c, $"  left out              {rows.SplitTrain:N0} split=train (the threshold was fitted on them), {rows.Unlabelled:N0} unlabelled"));
        }
        sb.AppendLine("point-wise (primary, no adjustment)");
        sb.AppendLine(string.Create(c, $"  precision             {pw.Precision:F4}"));
        sb.AppendLine(string.Create(c, $"  recall                {pw.Recall:F4}"));
        sb.AppendLine(string.Create(c, $"  F1                    {r.F1:F4}   (SKAB: TP/(TP+(FN+FP)/2))"));
        sb.AppendLine(string.Create(c, $"  FAR                   {r.Far:F2} %"));
        sb.AppendLine(string.Create(c, $"  MAR                   {r.Mar:F2} %"));
        sb.AppendLine(string.Create(c, $"  TP / FP / FN / TN     {pw.TP} / {pw.FP} / {pw.FN} / {pw.TN}"));
        sb.AppendLine(string.Create(c, $"point-ADJUSTED F1       {r.PointAdjustedF1:F4}   (a flagged row marks its whole event; optimistic)"));
        sb.AppendLine(string.Create(c, $"event-wise F1           {r.EventF1:F4}   ({r.Events.DetectedEvents}/{r.Events.TrueEvents} events detected, {r.Events.FalseAlarmSegments}/{r.Events.AlarmSegments} alarm segments false)"));
        sb.AppendLine($"ROC-AUC                 {Opt(r.RocAuc)}");
        sb.AppendLine($"PR-AUC                  {Opt(r.PrAuc)}");
        sb.Append(string.Create(c, $"time to detect (steps)  mean {(r.MeanTimeToDetect is double m ? m.ToString("F1", c) : "n/a")}, median {(r.MedianTimeToDetect is double md ? md.ToString("F1", c) : "n/a")}, missed {r.TimesToDetect.Count(t => t is null)} of {r.TimesToDetect.Length}"));
        return sb.ToString();
    }
}
