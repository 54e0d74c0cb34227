using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SparkAnomaly.Evaluation;
using SparkAnomaly.Reporting;
using SparkAnomaly.Scoring;
using SparkAnomaly.Training;

namespace SparkAnomaly.Cli;

internal static partial class Commands
{
    private static Command Benchmark(TextWriter stdout, TextWriter stderr)
    {
        var cmd = new Command("benchmark", "Run a published benchmark end to end with our trainer. Example: sparkanomaly benchmark skab --data ../shared/data/skab");
        cmd.Subcommands.Add(BenchmarkSkab(stdout, stderr));
        return cmd;
    }

    private static Command BenchmarkSkab(TextWriter stdout, TextWriter stderr)
    {
        var common = new CommonOptions();
        var defaults = new SkabOptions { DataDirectory = "" };
        var data = new Option<string>("--data", "-d") { Description = "Folder with SKAB's tidy.csv and SOURCE.md.", DefaultValueFactory = _ => Path.Combine("..", "shared", "data", "skab") };
        var outDir = new Option<string?>("--out", "-o") { Description = "Directory for report.html, results.json and files.csv (optional)." };
        var quick = new Option<bool>("--quick") { Description = "Smoke run: 2 files, 2 epochs, window 16 (under a minute). Its numbers mean nothing." };
        var window = new Option<int?>("--window") { Description = $"Window length T (default {defaults.WindowLength})." };
        var epochs = new Option<double?>("--epochs") { Description = $"Passes over each file's training windows (default {defaults.Epochs})." };
        var workers = new Option<int?>("--workers", "-w") { Description = $"Parameter-averaging workers per file model (default {defaults.Workers})." };
        var threshold = new Option<string?>("--threshold") { Description = $"Threshold rule on each file's held-out training scores: percentile:P, meanstd:K or pot:Q (default {defaults.Threshold})." };
        var validation = new Option<int?>("--validation-rows") { Description = $"Last N of the 400 training rows held out of the fit; the threshold is fitted on their scores (default {defaults.ValidationRows}; 0 = in-sample)." };
        var scoreRule = new Option<string?>("--score-rule") { Description = "last-step (default, causal), covering-mean, reconstruction-probability (An & Cho 2015, covering-mean over windows) or reconstruction-probability-last-step (the same, causal)." };
        var minDuration = new Option<int?>("--min-duration") { Description = "Drop alarm runs shorter than this many steps (default 1: keep all)." };
        var mergeGap = new Option<int?>("--merge-gap") { Description = "Merge alarm runs separated by at most this many steps (default 0)." };
        var persistence = new Option<int?>("--persistence") { Description = $"A row alarms only after this many consecutive rows above the threshold, itself included (causal; default {defaults.Filter.Persistence})." };
        var finalFit = new Option<string?>("--final-fit") { Description = $"Rows the model that scores the test part is fitted on: fit-rows (the rows before the held-out ones, the model that made the threshold's last scores) or all-training-rows (refitted on all 400 after the threshold is set) (default {Kebab(defaults.FinalFit.ToString())})." };
        var seed = new Option<long?>("--seed", "-s") { Description = $"Seed (default {defaults.Seed})." };
        var learningRate = new Option<double?>("--learning-rate") { Description = $"Adam learning rate (default {defaults.LearningRate})." };
        var klWeight = new Option<double?>("--kl-weight") { Description = $"KL weight β (default {defaults.KlWeight})." };
        var trainingOnly = new Option<bool>("--training-parts-only") { Description = "Model selection: train and score the training parts only and print the held-out validation error; no test row is used." };
        var channels = new Option<string?>("--channels") { Description = "Comma-separated channels to use (default: all eight)." };
        var excludeChannels = new Option<string?>("--exclude-channels") { Description = "Comma-separated channels to leave out of the eight (quote a name with spaces: --exclude-channels \"Volume Flow RateRMS\"). Not with --channels." };
        var maxFiles = new Option<int?>("--max-files") { Description = "Run only the first N of the 34 files." };
        var detrend = new Option<string?>("--detrend") { Description = $"Causal detrending of the slow channels before the normaliser: none, diff or ma:W (subtract the mean of the previous W rows) (default {defaults.Detrend})." };
        var detrendChannels = new Option<string?>("--detrend-channels") { Description = $"Comma-separated channels --detrend applies to (default {string.Join(",", defaults.DetrendChannels)})." };
        var weighting = new Option<string?>("--channel-weighting") { Description = $"Per-channel error weighting before summing the score: none, fit-error or held-out-error (divide by the channel's mean error on those training rows) (default {Kebab(defaults.ChannelWeighting.ToString())})." };
        var crossFit = new Option<int?>("--cross-fit-folds") { Description = $"Forward cross-fitting of the threshold: K folds of --validation-rows rows, each earlier fold scored by a model fitted on the rows before it; the threshold is fitted on all K folds' scores (default {defaults.CrossFitFolds}; 1: the final model's held-out rows only, no cross-fitting)." };
        weighting.AcceptOnlyFromAmong("none", "fit-error", "held-out-error");
        scoreRule.AcceptOnlyFromAmong(ScoreRuleNames);
        finalFit.AcceptOnlyFromAmong("fit-rows", "all-training-rows");
        var ensemble = new Option<int?>("--ensemble") { Description = $"Models per fit (seeds --seed, --seed + 1, …), whose channel errors are averaged (default {defaults.Ensemble})." };
        var cmd = new Command("skab", "SKAB (Skoltech Anomaly Benchmark) with its published protocol: one model per file fitted on the first 400 rows, tested on the rest, TP/FP/FN/TN summed over the 34 test parts; prints our row beside the leaderboard. Example: sparkanomaly benchmark skab --data ../shared/data/skab --out skab-run");
        foreach (var o in new Option[] { data, outDir, quick, window, epochs, workers, threshold, validation, scoreRule, minDuration, mergeGap, seed, learningRate, klWeight, trainingOnly, channels, excludeChannels, maxFiles, detrend, detrendChannels, weighting, crossFit, persistence, finalFit, ensemble })
        {
            cmd.Options.Add(o);
        }
        common.AddTo(cmd);
        cmd.SetAction(p =>
        {
            var ui = new Reporter(stdout, stderr, p.GetValue(common.Quiet), p.GetValue(common.Json));
            var o = new SkabOptions { DataDirectory = p.GetValue(data)! };
            if (p.GetValue(quick))
            {
                o = o with { MaxFiles = 2, Epochs = 2, WindowLength = 16, HiddenSize = 16, LatentSize = 4 };
            }
            o = o with
            {
                WindowLength = p.GetValue(window) ?? o.WindowLength,
                Epochs = p.GetValue(epochs) ?? o.Epochs,
                Workers = p.GetValue(workers) ?? o.Workers,
                Threshold = p.GetValue(threshold) ?? o.Threshold,
                ValidationRows = p.GetValue(validation) ?? o.ValidationRows,
                ScoreRule = p.GetValue(scoreRule) is string sr ? ParseScoreRule(sr) : o.ScoreRule,
                Filter = new AlarmFilter(p.GetValue(minDuration) ?? o.Filter.MinDuration, p.GetValue(mergeGap) ?? o.Filter.MergeGap, p.GetValue(persistence) ?? o.Filter.Persistence),
                Seed = p.GetValue(seed) ?? o.Seed,
                MaxFiles = p.GetValue(maxFiles) ?? o.MaxFiles,
                LearningRate = p.GetValue(learningRate) ?? o.LearningRate,
                KlWeight = p.GetValue(klWeight) ?? o.KlWeight,
                TrainingPartsOnly = p.GetValue(trainingOnly),
                Detrend = p.GetValue(detrend) ?? o.Detrend,
                DetrendChannels = p.GetValue(detrendChannels)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? o.DetrendChannels,
                ChannelWeighting = p.GetValue(weighting) is string wt ? Enum.Parse<SkabChannelWeighting>(wt.Replace("-", ""), ignoreCase: true) : o.ChannelWeighting,
                CrossFitFolds = p.GetValue(crossFit) ?? o.CrossFitFolds,
                Ensemble = p.GetValue(ensemble) ?? o.Ensemble,
                FinalFit = p.GetValue(finalFit) is string ff ? Enum.Parse<SkabFinalFit>(ff.Replace("-", ""), ignoreCase: true) : o.FinalFit,
                Channels = p.GetValue(channels)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? o.Channels,
                ExcludeChannels = p.GetValue(excludeChannels)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? o.ExcludeChannels,
            };
            o.Validate();
            // Claim the output directory before the long run, so a bad --out fails in a second, not in ten minutes.
            // --training-parts-only writes no file there, so --overwrite then removes nothing.
            using var dir = p.GetValue(outDir) is string d ? OutputDirectory.Claim(d, p.GetValue(common.Overwrite), outputs: o.TrainingPartsOnly ? null : BenchmarkOutputs) : null;
            var result = SkabBenchmark.Run(o, ui.Info);
            if (o.TrainingPartsOnly)
            {
                double mean = SkabBenchmark.MeanOverFiles(result.Files, f => f.ValidationError);
                double late = SkabBenchmark.MeanOverFiles(result.Files, f => f.LateExceedance);
                double pseudoFa = SkabBenchmark.MeanOverFiles(result.Files, f => f.PseudoTestFalseAlarm);
                double pseudoDet = SkabBenchmark.MeanOverFiles(result.Files, f => f.PseudoTestDetection);
                return ui.Result(new { benchmark = "SKAB", trainingPartsOnly = true, files = result.Files.Count, seconds = result.Seconds, validationError = mean, lateExceedance = late, pseudoTestFalseAlarm = pseudoFa, pseudoTestDetection = pseudoDet, pseudoTestNewDetection = SkabBenchmark.MeanOverFiles(result.Files, f => f.PseudoTestNewDetection), pseudoTestDriftingFiles = SkabBenchmark.DriftingFiles(result.Files), perFile = result.Files.Select(f => new { seriesId = f.SeriesId, validationError = f.ValidationError, lateExceedance = f.LateExceedance, pseudoTestFalseAlarm = f.PseudoTestFalseAlarm, pseudoTestDetection = f.PseudoTestDetection, pseudoTestNewDetection = f.PseudoTestNewDetection, finalLoss = f.FinalLoss }) },
                    string.Create(CultureInfo.InvariantCulture, $"training parts only: mean held-out validation error {mean:F4}, within-train false-alarm proxy {late:P2}, pseudo-test false alarms {pseudoFa:P2} and injected shifts detected {pseudoDet:P2} over {result.Files.Count} files ({result.Seconds:F0} s); no test row was used"));
            }
            var r = result.Report;
            string files = o.MaxFiles is int m ? $"{Math.Min(m, result.Files.Count)} files" : "34 files";
            // A --quick row sits in the leaderboard like a result; say it is not one.
            var ours = new ComparisonRow($"SparkAnomaly LSTM-VAE (ours, {(p.GetValue(quick) ? $"--quick smoke run, {files}: not comparable" : files)})", r.F1, r.Far, r.Mar, Highlight: true);
            var board = result.Leaderboard.Append(ours).OrderByDescending(x => Math.Round(x.F1, 2)).ThenBy(x => x.Highlight ? 0 : 1).ToList();
            string? reportFile = null;
            if (dir is not null)
            {
                reportFile = dir.File("report.html");
                dir.RemovePreviousOutputs();
                HtmlReport.Save(reportFile, new ReportContent("SparkAnomaly on SKAB (point-wise, test parts)", r, result.Charts, new[]
                {
                    string.Create(CultureInfo.InvariantCulture, $"One model per file, fitted on rows 0–{(o.FinalFit == SkabFinalFit.AllTrainingRows ? SkabBenchmark.TrainRows : SkabBenchmark.TrainRows - o.ValidationRows) - 1}; threshold {o.Threshold} of the out-of-sample scores of rows {SkabBenchmark.TrainRows - o.CrossFitFolds * o.ValidationRows}–{SkabBenchmark.TrainRows - 1}{(o.CrossFitFolds > 1 ? $" ({o.CrossFitFolds} forward folds: each scored by a model fitted on the rows before it)" : "")}; window {o.WindowLength}, {o.Epochs} epochs, {o.Workers} workers, seed {o.Seed}; {result.Seconds:F0} s."),
                    "Rows 0–399 of each file (grey) are training; only the test rows are counted, as in SKAB's leaderboard.",
                }, board));
                AtomicFile.WriteAllText(dir.File("results.json"), JsonSerializer.Serialize(BenchmarkJson(result, board, reportFile), new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
                var csv = new StringBuilder("series_id,tp,fp,fn,tn,f1,far,mar,roc_auc,threshold,validation_error,final_loss,seconds\n");
                foreach (var f in result.Files)
                {
                    csv.Append(CultureInfo.InvariantCulture, $"{f.SeriesId},{f.Counts.TP},{f.Counts.FP},{f.Counts.FN},{f.Counts.TN},{f.Counts.F1:F4},{f.Counts.Far:F2},{f.Counts.Mar:F2},{f.RocAuc:F4},{f.Threshold:G6},{f.ValidationError:F4},{f.FinalLoss:F4},{f.Seconds:F2}\n");
                }
                AtomicFile.WriteAllText(dir.File("files.csv"), csv.ToString());
            }
            return ui.Result(BenchmarkJson(result, board, reportFile), BenchmarkText(result, board));
        });
        return cmd;
    }

    private static object BenchmarkJson(SkabResult result, IReadOnlyList<ComparisonRow> board, string? report) => new
    {
        benchmark = "SKAB",
        files = result.Files.Count,
        seconds = result.Seconds,
        f1 = result.Report.F1,
        far = result.Report.Far,
        mar = result.Report.Mar,
        dominatesConvAe = board.FirstOrDefault(b => b.Name == "Conv-AE") is { } conv && result.Report.F1 > conv.F1 && result.Report.Far < conv.Far && result.Report.Mar < conv.Mar,
        settings = new
        {
            window = result.Options.WindowLength, hidden = result.Options.HiddenSize, latent = result.Options.LatentSize, epochs = result.Options.Epochs,
            workers = result.Options.Workers, channels = result.Options.Channels, excludeChannels = result.Options.ExcludeChannels, learningRate = result.Options.LearningRate, klWeight = result.Options.KlWeight, threshold = result.Options.Threshold, validationRows = result.Options.ValidationRows,
            scoreRule = result.Options.ScoreRule.ToString(), detrend = result.Options.Detrend, detrendChannels = result.Options.DetrendChannels, channelWeighting = result.Options.ChannelWeighting.ToString(), crossFitFolds = result.Options.CrossFitFolds, finalFit = Kebab(result.Options.FinalFit.ToString()), ensemble = result.Options.Ensemble, minDuration = result.Options.Filter.MinDuration, mergeGap = result.Options.Filter.MergeGap, persistence = result.Options.Filter.Persistence, seed = result.Options.Seed,
        },
        evaluation = EvaluationJson(result.Report),
        validationError = SkabBenchmark.MeanOverFiles(result.Files, f => f.ValidationError),
        meanFileRocAuc = SkabBenchmark.MeanOverFiles(result.Files, f => f.RocAuc),
        perFile = result.Files.Select(f => new { seriesId = f.SeriesId, validationError = f.ValidationError, tp = f.Counts.TP, fp = f.Counts.FP, fn = f.Counts.FN, tn = f.Counts.TN, f1 = f.Counts.F1, far = f.Counts.Far, mar = f.Counts.Mar, rocAuc = f.RocAuc, threshold = f.Threshold, finalLoss = f.FinalLoss, seconds = f.Seconds }),
        leaderboard = board.Select(b => new { algorithm = b.Name, f1 = b.F1, far = b.Far, mar = b.Mar, ours = b.Highlight }),
        report,
    };

    private static string Kebab(string pascal) => string.Concat(pascal.Select((ch, i) => char.IsUpper(ch) && i > 0 ? "-" + char.ToLowerInvariant(ch) : char.ToLowerInvariant(ch).ToString()));

    private static string BenchmarkText(SkabResult result, IReadOnlyList<ComparisonRow> board)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        int width = Math.Max(12, board.Max(b => b.Name.Length));
        sb.AppendLine("SKAB outlier detection, point-wise on the test parts (F1 = TP/(TP+(FN+FP)/2))");
        sb.AppendLine($"  {"Algorithm".PadRight(width)}  {"F1",6}  {"FAR %",7}  {"MAR %",7}");
        foreach (var b in board)
        {
            sb.AppendLine(string.Create(c, $"{(b.Highlight ? "► " : "  ")}{b.Name.PadRight(width)}  {b.F1,6:F2}  {b.Far,7:F2}  {b.Mar,7:F2}"));
        }
        var r = result.Report;
        sb.AppendLine(string.Create(c, $"mean ROC-AUC within a file (threshold-free ranking quality): {SkabBenchmark.MeanOverFiles(result.Files, f => f.RocAuc):F3}"));
        sb.AppendLine(string.Create(c, $"ours unrounded: F1 {r.F1:F4}, FAR {r.Far:F2} %, MAR {r.Mar:F2} % (TP {r.PointWise.TP}, FP {r.PointWise.FP}, FN {r.PointWise.FN}, TN {r.PointWise.TN}); {result.Files.Count} files in {result.Seconds:F0} s"));
        sb.AppendLine();
        sb.Append(EvaluationTable(r));
        return sb.ToString();
    }
}
