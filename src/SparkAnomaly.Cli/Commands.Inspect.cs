using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SparkAnomaly.Data;
using SparkAnomaly.Scoring;
using SparkAnomaly.Training;

namespace SparkAnomaly.Cli;

/// <summary><c>sparkanomaly inspect</c>: what is in a model or scores file, or how data would be sharded.</summary>
internal static partial class Commands
{
    private static Command Inspect(TextWriter stdout, TextWriter stderr)
    {
        var file = new Argument<string?>("FILE") { Description = "A model.parquet or scores.parquet written by sparkanomaly (the kind is read from the file), or the scores.parquet directory of a Spark score job.", Arity = ArgumentArity.ZeroOrOne };
        var dataPath = new Option<string?>("--data", "-d") { Description = "Instead of FILE: print how this data would be split across --workers (CSV, Parquet or a Spark-style directory)." };
        var workers = new Option<int?>("--workers", "-w") { Description = "With --data: workers to plan for (default 2)." };
        var window = new Option<int?>("--window") { Description = "With --data: window length T in time steps (default 64)." };
        var repartition = new Option<string?>("--repartition") { Description = "With --data: always, never or when-unbalanced (default), as in training." };
        repartition.AcceptOnlyFromAmong("always", "never", "when-unbalanced");
        var json = new Option<bool>("--json") { Description = "Print the same information as JSON on stdout." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No notes or warnings on stderr; errors only." };
        var data = new DataOptions();
        var cmd = new Command("inspect",
            "Show what a model.parquet holds (shape, normaliser, threshold, provenance, parameters) or summarise a scores.parquet per series; "
            + "with --data, print the shard plan. Examples: sparkanomaly inspect run1/model.parquet; sparkanomaly inspect scored/scores.parquet --json; sparkanomaly inspect --data sensors.csv --workers 4 --window 32");
        cmd.Arguments.Add(file);
        foreach (var o in new Option[] { dataPath, workers, window, repartition })
        {
            cmd.Options.Add(o);
        }
        data.AddTo(cmd);
        data.SplitColumn.Description = "With --data: train/test split column (default split; optional). The plan counts the windows train would train on: rows with split=test are left out of them, as train leaves them out.";
        cmd.Options.Add(json);
        cmd.Options.Add(quiet);
        cmd.SetAction(p =>
        {
            var ui = new Reporter(stdout, stderr, p.GetValue(quiet), p.GetValue(json));
            string? path = p.GetValue(file);
            string? dataFile = p.GetValue(dataPath);
            if (path is not null && dataFile is not null)
            {
                throw new SparkAnomalyException("inspect takes either a FILE or --data PATH, not both. Run 'sparkanomaly inspect --help' for usage.");
            }
            if (dataFile is not null)
            {
                var defaults = new TrainingConfig();
                var policy = p.GetValue(repartition) switch
                {
                    "always" => RepartitionPolicy.Always,
                    "never" => RepartitionPolicy.Never,
                    _ => defaults.Repartition,
                };
                return InspectShards(ui, dataFile, data.Read(p), p.GetValue(workers) ?? defaults.Workers, p.GetValue(window) ?? defaults.WindowLength, defaults.Stride, policy);
            }
            if (path is null)
            {
                throw new SparkAnomalyException("inspect needs a FILE (model.parquet or scores.parquet) or --data PATH --workers N. Run 'sparkanomaly inspect --help' for usage.");
            }
            if (p.GetValue(workers) is not null || p.GetValue(window) is not null || p.GetValue(repartition) is not null)
            {
                throw new SparkAnomalyException("--workers, --window and --repartition go with --data PATH (the shard plan), not with a FILE.");
            }
            if (p.GetValue(data.Channels) is not null || p.GetValue(data.ExcludeChannels) is not null)
            {
                throw new SparkAnomalyException("--channels and --exclude-channels go with --data PATH (the channels train would use); a model's channels are fixed, and a scores file's are those of its model.");
            }
            // A data file passed as FILE is the likely mistake: say how to inspect it.
            string dataHint = $"If it is input data, 'sparkanomaly inspect --data {path}' shows its series, rows and channels and how train would split it.";
            OutputFileKind kind;
            try
            {
                kind = OutputFiles.Detect(path);
            }
            catch (SparkAnomalyException e) when (File.Exists(path))
            {
                throw new SparkAnomalyException($"{e.Message} {dataHint}", e);
            }
            return kind switch
            {
                OutputFileKind.Model => InspectModel(ui, path),
                OutputFileKind.Scores => InspectScores(ui, path),
                _ => throw new SparkAnomalyException($"'{path}' is a Parquet file but neither a SparkAnomaly model (no 'sparkanomaly.model' metadata) nor a scores file (no series_id and score columns). Pass a model.parquet or scores.parquet. {dataHint}"),
            };
        });
        return cmd;
    }

    private static int InspectModel(Reporter ui, string path)
    {
        var m = ModelFile.Load(path, out bool metadataVerified);
        var c = CultureInfo.InvariantCulture;
        var tensors = ModelFile.ParameterShapes(m.Model).Select(t => new { name = t.Name, shape = t.Shape, count = t.Shape.Aggregate(1L, (a, b) => a * b) }).ToList();
        var pv = m.Provenance;
        JsonElement? config = null;
        try
        {
            config = JsonDocument.Parse(pv.ConfigJson).RootElement;
        }
        catch (JsonException)
        {
        }
        var result = new
        {
            kind = "model",
            path,
            formatVersion = ModelFile.FormatVersionOf(m),
            checksumVerified = true,
            metadataChecksumVerified = metadataVerified,
            modelId = m.ModelId,
            model = m.Model,
            parameters = new { count = m.Parameters.LongLength, tensors },
            normaliser = new
            {
                kind = m.Normaliser.Kind.ToString(),
                channels = m.Normaliser.Channels.Select((ch, i) => new { name = ch, offset = m.Normaliser.Offset[i], scale = m.Normaliser.Scale[i] }),
            },
            threshold = m.Threshold,
            provenance = new
            {
                pv.LibraryVersion, pv.DataSource, pv.DataFingerprint, pv.Seed, pv.Rounds, pv.Workers, pv.TrainingWindows, pv.FinalLoss, pv.CreatedUtc, config,
            },
        };
        var t = new StringBuilder();
        // An older file's metadata had no checksum: saying "verified" there would vouch for what nothing checked.
        string integrity = metadataVerified ? "checksum verified (parameters and metadata)" : "parameter checksum verified; metadata not covered (older file)";
        t.AppendLine(c, $"model           {path} (format {ModelFile.FormatVersionOf(m)}, {integrity})");
        t.AppendLine(c, $"model id        {m.ModelId}");
        t.AppendLine(c, $"shape           {m.Model.Channels} channels, window {m.Model.WindowLength}, hidden {m.Model.HiddenSize}, latent {m.Model.LatentSize}");
        t.AppendLine(c, $"threshold       {m.Threshold.Value:G6} ({m.Threshold.Method}, fitted on {m.Threshold.FittedOnSteps:N0} training-period steps; score rule {Kebab(m.Threshold.ScoreRule)})");
        if (m.Threshold.PerSeries is { Count: > 0 } own)
        {
            t.AppendLine(c, $"per series      {own.Count:N0} series have their own threshold, {own.Values.Min():G6} to {own.Values.Max():G6}; other series use the one above (--json lists them)");
        }
        t.AppendLine(c, $"provenance      library {pv.LibraryVersion}, seed {pv.Seed}, {pv.Rounds} rounds, {pv.Workers} workers, {pv.TrainingWindows:N0} training windows, final loss {pv.FinalLoss:F4}");
        t.AppendLine(c, $"data            {pv.DataSource} (fingerprint {pv.DataFingerprint})");
        t.AppendLine(c, $"created         {pv.CreatedUtc}");
        if (config is { ValueKind: JsonValueKind.Object } cfg)
        {
            t.AppendLine(c, $"training config {string.Join(", ", cfg.EnumerateObject().Select(o => $"{o.Name}={o.Value.GetRawText()}"))}");
        }
        t.AppendLine(c, $"normaliser      {Kebab(m.Normaliser.Kind.ToString())} per channel (fitted on training rows):");
        int w = Math.Max(8, m.Normaliser.Channels.Max(ch => ch.Length));
        // Reconstruction-probability models also show each channel's fitted residual variance (normalised units).
        var variance = m.Threshold.ChannelVariance;
        t.AppendLine(c, $"  {"channel".PadRight(w)}  {"offset",12}  {"scale",12}{(variance is null ? "" : $"  {"residual σ²",12}")}");
        for (int i = 0; i < m.Normaliser.Channels.Length; i++)
        {
            t.AppendLine(c, $"  {m.Normaliser.Channels[i].PadRight(w)}  {m.Normaliser.Offset[i],12:G6}  {m.Normaliser.Scale[i],12:G6}{(variance is null ? "" : $"  {variance[i],12:G6}")}");
        }
        t.AppendLine(c, $"parameters      {m.Parameters.LongLength:N0} in {tensors.Count} tensors:");
        int tw = tensors.Max(x => x.name.Length);
        foreach (var x in tensors)
        {
            t.AppendLine(c, $"  {x.name.PadRight(tw)}  {string.Join("x", x.shape),-10} {x.count,10:N0}");
        }
        return ui.Result(result, t.ToString().TrimEnd());
    }

    private static int InspectScores(Reporter ui, string path)
    {
        var s = ScoresSummary.Read(path);
        var c = CultureInfo.InvariantCulture;
        var t = new StringBuilder();
        t.AppendLine(c, $"scores          {path}");
        t.AppendLine(c, $"model id        {s.ModelId ?? "(unknown)"}");
        t.AppendLine(c, $"threshold       {s.Threshold:G6}{(s.ThresholdMethod is null ? "" : $" ({s.ThresholdMethod})")}");
        t.AppendLine(c, $"rows            {s.Rows:N0} in {s.Series.Count} series, {s.Flagged:N0} flagged ({(s.Rows > 0 ? (double)s.Flagged / s.Rows : 0):P2})");
        var header = new List<string> { "series", "rows", "flagged", "first alarm", "max score", "max at" };
        if (s.HasLabels)
        {
            header.AddRange(new[] { "labelled 1", "first labelled", "flagged & 1" });
        }
        var rows = s.Series.Select(x =>
        {
            var r = new List<string>
            {
                x.SeriesId, x.Rows.ToString("N0", c), x.Flagged.ToString("N0", c), x.FirstAlarm ?? "-", x.MaxScore.ToString("G5", c), x.MaxScoreAt ?? "-",
            };
            if (s.HasLabels)
            {
                r.AddRange(new[] { x.LabelledAnomalies?.ToString("N0", c) ?? "-", x.FirstLabelledAnomaly ?? "-", x.FlaggedAndLabelled?.ToString("N0", c) ?? "-" });
            }
            return r;
        }).ToList();
        AppendTable(t, header, rows);
        var result = new { kind = "scores", path, s.ModelId, threshold = s.Threshold, s.ThresholdMethod, s.Rows, s.Flagged, s.HasLabels, series = s.Series };
        return ui.Result(result, t.ToString().TrimEnd());
    }

    private static int InspectShards(Reporter ui, string path, ReadOptions read, int workers, int window, int stride, RepartitionPolicy policy)
    {
        if (workers < 1 || workers > 4096)
        {
            throw new SparkAnomalyException($"--workers is {workers}; it must be between 1 and 4096.");
        }
        if (window < 2)
        {
            throw new SparkAnomalyException($"--window is {window}; it must be 2 or more.");
        }
        var set = DataReader.Read(path, read, out var warnings);
        foreach (var w in warnings)
        {
            ui.Warn(w);
        }
        var shards = ShardPlanner.Split(set.Series, workers, window, stride, policy);
        var perWorker = shards.Select((sh, w) =>
        {
            var ids = Enumerable.Range(0, sh.WindowCount).Select(i => sh.WindowAt(i).Series.Id).Distinct().ToList();
            return new { worker = w, windows = (long)sh.WindowCount, seriesCount = ids.Count, series = ids };
        }).ToList();
        long total = perWorker.Sum(x => x.windows);
        double imbalance = new ShardPlan(new Dictionary<string, int>(), perWorker.Select(x => x.windows).ToArray()).Imbalance;
        var owners = perWorker.SelectMany(x => x.series.Select(id => (id, x.worker))).GroupBy(x => x.id).ToList();
        bool byRanges = owners.Any(g => g.Count() > 1);
        var withWindows = owners.Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        var untrained = set.Series.Where(s => !withWindows.Contains(s.Id)).Select(s => s.Id).ToList();
        string policyName = policy switch { RepartitionPolicy.Always => "always", RepartitionPolicy.Never => "never", _ => "when-unbalanced" };
        var result = new
        {
            kind = "shardPlan",
            data = path,
            series = set.Series.Count,
            rows = set.TotalRows,
            channels = set.ChannelNames,
            workers,
            windowLength = window,
            stride,
            repartition = policyName,
            split = byRanges ? "window-ranges" : "whole-series",
            trainableWindows = total,
            imbalance,
            perWorker,
            seriesWithoutTrainableWindows = untrained,
        };
        var c = CultureInfo.InvariantCulture;
        var t = new StringBuilder();
        t.AppendLine(c, $"data            {path}: {set.Series.Count} series, {set.TotalRows:N0} rows, {set.Channels} channels");
        t.AppendLine(c, $"windows         {total:N0} trainable windows of {window} steps (stride {stride})");
        t.AppendLine(c, $"plan            {workers} workers, {(byRanges ? "window ranges (series split across workers)" : "whole series per worker")}, repartition {policyName}");
        AppendTable(t, new[] { "worker", "windows", "share", "series" }, perWorker.Select(x => (IReadOnlyList<string>)new[]
        {
            x.worker.ToString(c), x.windows.ToString("N0", c), (total > 0 ? (double)x.windows / total : 0).ToString("P1", c),
            x.seriesCount <= 4 ? $"{string.Join(", ", x.series)} ({x.seriesCount})" : $"{string.Join(", ", x.series.Take(3))}, … ({x.seriesCount})",
        }).ToList());
        t.AppendLine(c, $"imbalance       {imbalance:F3} (largest shard / mean; training re-splits by window ranges above {ShardPlanner.TolerableImbalance:F2} under repartition when-unbalanced)");
        if (untrained.Count > 0)
        {
            t.AppendLine(c, $"not trained on  {untrained.Count} series with no trainable window (shorter than the window, or split=test): {string.Join(", ", untrained.Take(10))}{(untrained.Count > 10 ? ", …" : "")}");
        }
        return ui.Result(result, t.ToString().TrimEnd());
    }

    private static void AppendTable(StringBuilder t, IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        string Line(IReadOnlyList<string> cells) => "  " + string.Join("  ", cells.Select((x, i) => i == 0 || i == cells.Count - 1 && header[i] == "series" ? x.PadRight(widths[i]) : x.PadLeft(widths[i]))).TrimEnd();
        t.AppendLine(Line(header));
        foreach (var r in rows)
        {
            t.AppendLine(Line(r));
        }
    }
}
