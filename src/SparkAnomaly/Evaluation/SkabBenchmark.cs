using System.Diagnostics;
using System.Globalization;
using SparkAnomaly.Data;
using SparkAnomaly.Reporting;
using SparkAnomaly.Scoring;
using SparkAnomaly.Training;

namespace SparkAnomaly.Evaluation;

/// <summary>
/// Settings of a SKAB run. The protocol fixes the split (first 400 rows of each file train, the rest test)
/// and the metric; everything else is ours, and each default is argued in docs/skab.md. None was chosen by
/// looking at test-part results.
/// </summary>
public sealed record SkabOptions
{
    /// <summary>Folder holding SKAB's <c>tidy.csv</c> and <c>SOURCE.md</c> (<c>../shared/data/skab</c>).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Window length T. 400 training rows give only 400−T+1 windows, so T stays short.</summary>
    public int WindowLength { get; init; } = 32;

    public int HiddenSize { get; init; } = 32;

    public int LatentSize { get; init; } = 8;

    /// <summary>Passes over the training windows per file model.</summary>
    public double Epochs { get; init; } = 30;

    /// <summary>Parameter-averaging workers per file model.</summary>
    public int Workers { get; init; } = 2;

    public int BatchSize { get; init; } = 32;

    public long Seed { get; init; } = 42;

    /// <summary>
    /// The last this many of the 400 training rows are held out of the fit and only scored: the threshold is
    /// fitted on these out-of-sample scores (in-sample scores of a 400-row fit understate normal error).
    /// 0 fits the threshold on the in-sample scores of all training rows.
    /// </summary>
    public int ValidationRows { get; init; } = 100;

    /// <summary>Threshold rule on the (validation) training-period scores of each file.</summary>
    public string Threshold { get; init; } = "percentile:99";

    public ScoreRule ScoreRule { get; init; } = ScoreRule.CoveringMean;

    /// <summary>Alarm post-processing applied to the thresholded test rows (default: none).</summary>
    public AlarmFilter Filter { get; init; } = AlarmFilter.None;

    /// <summary>
    /// Adam learning rate of each file model. 1e-2 (with β 0.1) had the lowest mean held-out validation error
    /// of the settings tried with --training-parts-only (docs/skab.md); no test row took part in the choice.
    /// </summary>
    public double LearningRate { get; init; } = 1e-2;

    /// <summary>Largest KL weight β of the ELBO; 0.1 chosen with the learning rate, on the training parts only.</summary>
    public double KlWeight { get; init; } = 0.1;

    /// <summary>
    /// Model selection without the test parts: train and score the training parts only and report each file's
    /// mean held-out validation score; no test row is read into a model or a metric.
    /// </summary>
    public bool TrainingPartsOnly { get; init; }

    /// <summary>Channels to use (null: all eight).</summary>
    public IReadOnlyList<string>? Channels { get; init; }

    /// <summary>Run only the first this many files (null: all 34), e.g. for a smoke test.</summary>
    public int? MaxFiles { get; init; }

    /// <summary>Refuses settings that cannot work with 400 training rows.</summary>
    public void Validate()
    {
        if (ValidationRows < 0 || ValidationRows > SkabBenchmark.TrainRows - WindowLength - 1)
        {
            throw new SparkAnomalyException($"validation rows is {ValidationRows}; it must be between 0 and {SkabBenchmark.TrainRows - WindowLength - 1} so that at least two windows of {WindowLength} rows remain to train on.");
        }
        if (MaxFiles is < 1)
        {
            throw new SparkAnomalyException($"max files is {MaxFiles}; it must be 1 or more.");
        }
        ThresholdSpec.Parse(Threshold);
        Filter.Validate();
        Config.Validate();
    }

    /// <summary>The training configuration of each file model.</summary>
    public TrainingConfig Config => new()
    {
        Workers = Workers, WindowLength = WindowLength, HiddenSize = HiddenSize, LatentSize = LatentSize, Epochs = Epochs,
        BatchSizePerWorker = BatchSize, AveragingFrequency = 2, LearningRate = LearningRate, KlWeight = KlWeight, Seed = Seed, CheckpointEvery = 0, Threshold = Threshold, ScoreRule = ScoreRule,
    };
}

/// <summary>One SKAB file's outcome.</summary>
/// <param name="SeriesId">The SKAB file, e.g. valve1/3.</param>
/// <param name="Counts">Point-wise counts over the file's test part.</param>
/// <param name="Threshold">The file's threshold.</param>
/// <param name="Seconds">Wall time to train, score and evaluate the file.</param>
/// <param name="FinalLoss">Last round's training loss.</param>
/// <param name="ValidationError">Mean score of the held-out training rows (NaN without validation rows): the model-selection criterion.</param>
/// <param name="RocAuc">ROC-AUC of the scores within the file's test part (NaN without scores or with one class): how well the
/// score ranks rows regardless of the threshold, a diagnostic only.</param>
public sealed record SkabFileResult(string SeriesId, ConfusionCounts Counts, double Threshold, double Seconds, double FinalLoss, double ValidationError, double RocAuc = double.NaN);

/// <summary>A finished SKAB run.</summary>
public sealed record SkabResult(
    EvaluationReport Report, IReadOnlyList<SkabFileResult> Files, IReadOnlyList<ComparisonRow> Leaderboard,
    IReadOnlyList<ReportSeries> Charts, double Seconds, SkabOptions Options);

/// <summary>
/// SKAB's published protocol end to end with our trainer: one LSTM-VAE per anomaly file, fitted on the file's
/// first 400 rows (<c>split=train</c>) and tested on the rest; TP/FP/FN/TN summed over the 34 test parts,
/// F1 = TP/(TP+(FN+FP)/2), FAR and MAR in percent (<see cref="ConfusionCounts"/>).
/// </summary>
public static class SkabBenchmark
{
    /// <summary>Training rows per file in SKAB's protocol.</summary>
    public const int TrainRows = 400;

    /// <summary>Runs the benchmark; <paramref name="progress"/> gets one line per file.</summary>
    /// <exception cref="SparkAnomalyException">The data folder or tidy.csv is missing or malformed.</exception>
    public static SkabResult Run(SkabOptions options, Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var clock = Stopwatch.StartNew();
        string tidy = Path.Combine(options.DataDirectory, "tidy.csv");
        if (!File.Exists(tidy))
        {
            throw new SparkAnomalyException($"SKAB data not found: '{tidy}' does not exist. Pass --data with the folder holding SKAB's tidy.csv (../shared/data/skab from the repository root).");
        }
        var set = DataReader.Read(tidy, new ReadOptions { Channels = options.Channels });
        // The anomaly files are those with a train/test split; anomaly-free.csv has none and is not used.
        var files = set.Series.Where(s => s.Splits is not null && s.Splits.Contains(RowSplit.Train) && s.Splits.Contains(RowSplit.Test)).ToList();
        if (files.Count == 0)
        {
            throw new SparkAnomalyException($"'{tidy}' has no series with split=train and split=test rows. Pass the tidy.csv made by SKAB's convert.py.");
        }
        if (options.MaxFiles is int max)
        {
            files = files.Take(max).ToList();
        }
        progress?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"SKAB: {files.Count} files; window {options.WindowLength}, hidden {options.HiddenSize}, latent {options.LatentSize}, {options.Epochs} epochs, {options.Workers} workers, threshold {options.Threshold} on {(options.ValidationRows > 0 ? $"{options.ValidationRows} held-out training rows" : "in-sample training scores")}, score rule {options.ScoreRule}"));
        var spec = ThresholdSpec.Parse(options.Threshold);
        var config = options.Config;
        // Per channel: held-out minus in-sample mean contribution, summed over files. A training-parts-only
        // diagnostic of which channels drift between the fitted rows and later rows.
        var driftSum = new double[set.Channels];
        var results = new List<SkabFileResult>();
        var evaluations = new List<EvaluationSeries>();
        var charts = new List<ReportSeries>();
        foreach (var file in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var fileClock = Stopwatch.StartNew();
            var splits = file.Splits!;
            int trainRows = splits.TakeWhile(s => s == RowSplit.Train).Count();
            if (trainRows != TrainRows || splits.Skip(trainRows).Any(s => s != RowSplit.Test))
            {
                throw new SparkAnomalyException($"series '{file.Id}' in '{tidy}' does not have {TrainRows} train rows followed by test rows (found {trainRows} leading train rows). Pass the tidy.csv made by SKAB's convert.py.");
            }

            // The model only ever sees the training part: truncating the series (rather than masking) keeps
            // test rows out of the normaliser, the windows and the threshold's scores alike.
            var fitRows = trainRows - options.ValidationRows;
            var trainPart = Slice(file, 0, trainRows, r => r < fitRows ? RowSplit.Train : RowSplit.Test);
            var trainSet = new SeriesSet(new[] { trainPart }, set.ChannelNames, set.TimestampKind, $"{tidy}#{file.Id}[0..{trainRows})");
            var run = Detector.Train(trainSet, config);
            var model = run.Model;
            double validationError = double.NaN;
            if (options.ValidationRows > 0)
            {
                var scoredTrain = Scorer.Score(model, trainSet, out _)[0];
                var heldOut = scoredTrain.Score.AsSpan(fitRows, options.ValidationRows);
                validationError = heldOut.ToArray().Average();
                for (int c = 0; c < set.Channels; c++)
                {
                    double fit = 0, held = 0;
                    for (int r = 0; r < trainRows; r++)
                    {
                        if (r < fitRows) { fit += scoredTrain.Contributions[r * set.Channels + c]; } else { held += scoredTrain.Contributions[r * set.Channels + c]; }
                    }
                    driftSum[c] += held / options.ValidationRows - fit / fitRows;
                }
                model = model.WithThreshold(new ThresholdInfo($"{options.Threshold} of {options.ValidationRows} held-out training rows", Thresholds.Fit(heldOut, spec), options.ValidationRows, options.ScoreRule.ToString()));
            }
            if (options.TrainingPartsOnly)
            {
                results.Add(new SkabFileResult(file.Id, ConfusionCounts.Zero, model.Threshold.Value, fileClock.Elapsed.TotalSeconds, model.Provenance.FinalLoss, validationError));
                progress?.Invoke(string.Create(CultureInfo.InvariantCulture,
                    $"{results.Count}/{files.Count} {file.Id}: held-out validation error {validationError:F3} (training loss {model.Provenance.FinalLoss:F2}, {fileClock.Elapsed.TotalSeconds:F1} s)"));
                continue;
            }

            var scored = Scorer.Score(model, new SeriesSet(new[] { file }, set.ChannelNames, set.TimestampKind, tidy), out _)[0];
            var alarms = options.Filter.Apply(scored.IsAnomaly);
            var labelled = splits.Select((s, r) => s == RowSplit.Test && file.Labels is { } l && l[r] != Series.NoLabel).ToArray();
            var actual = file.Labels!.Select(l => l == 1).ToArray();
            var eval = new EvaluationSeries(scored.Score, alarms, actual, labelled);
            evaluations.Add(eval);
            var counts = Metrics.PointWise(alarms, actual, labelled);
            double auc = Metrics.RocAuc(scored.Score, actual, labelled);
            results.Add(new SkabFileResult(file.Id, counts, model.Threshold.Value, fileClock.Elapsed.TotalSeconds, model.Provenance.FinalLoss, validationError, auc));
            charts.Add(Chart(file, scored, model.Threshold.Value, actual, labelled, alarms, set.ChannelNames));
            progress?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"{results.Count}/{files.Count} {file.Id}: F1 {counts.F1:F3} FAR {counts.Far:F1}% MAR {counts.Mar:F1}% ROC-AUC {auc:F3} (threshold {model.Threshold.Value:G4}, loss {model.Provenance.FinalLoss:F2}, {fileClock.Elapsed.TotalSeconds:F1} s)"));
        }
        if (options.TrainingPartsOnly && options.ValidationRows > 0)
        {
            progress?.Invoke(string.Create(CultureInfo.InvariantCulture, $"mean held-out validation error over {results.Count} files: {results.Average(r => r.ValidationError):F4}"));
            progress?.Invoke("held-out minus in-sample error per channel (mean over files): " + string.Join(", ", set.ChannelNames.Select((n, c) => string.Create(CultureInfo.InvariantCulture, $"{n} {driftSum[c] / results.Count:F3}"))));
        }
        var report = Metrics.Evaluate(evaluations);
        return new SkabResult(report, results, ReadLeaderboard(Path.Combine(options.DataDirectory, "SOURCE.md")), charts, clock.Elapsed.TotalSeconds, options);
    }

    /// <summary>
    /// The point-wise leaderboard of SKAB's README as recorded in SOURCE.md ("Outlier detection" table:
    /// Algorithm | F1 | FAR % | MAR %). Empty when the file or table is absent: the comparison is a courtesy,
    /// not a requirement of the run.
    /// </summary>
    public static IReadOnlyList<ComparisonRow> ReadLeaderboard(string sourceMd)
    {
        if (!File.Exists(sourceMd))
        {
            return Array.Empty<ComparisonRow>();
        }
        var rows = new List<ComparisonRow>();
        bool inTable = false;
        foreach (var raw in File.ReadLines(sourceMd))
        {
            string line = raw.Trim();
            if (line.StartsWith("| Algorithm | F1 | FAR", StringComparison.Ordinal))
            {
                inTable = true;
                continue;
            }
            if (!inTable)
            {
                continue;
            }
            if (!line.StartsWith('|'))
            {
                break;
            }
            var cells = line.Trim('|').Split('|').Select(c => c.Trim().Replace("**", "")).ToArray();
            if (cells.Length >= 4 && double.TryParse(cells[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double f1)
                && double.TryParse(cells[2], NumberStyles.Float, CultureInfo.InvariantCulture, out double far)
                && double.TryParse(cells[3], NumberStyles.Float, CultureInfo.InvariantCulture, out double mar))
            {
                rows.Add(new ComparisonRow(cells[0], f1, far, mar));
            }
        }
        return rows;
    }

    private static Series Slice(Series s, int start, int length, Func<int, RowSplit> split) => new(
        s.Id,
        s.Timestamps.AsSpan(start, length).ToArray(),
        s.Values.AsSpan(start * s.Channels, length * s.Channels).ToArray(),
        s.Channels,
        s.Labels?.AsSpan(start, length).ToArray(),
        Enumerable.Range(start, length).Select(split).ToArray());

    /// <summary>Report chart of one file: four channels z-scored on the training part, so they share one axis.</summary>
    private static ReportSeries Chart(Series s, ScoredSeries scored, double threshold, bool[] actual, bool[] labelled, bool[] alarms, IReadOnlyList<string> channels)
    {
        var signal = new List<(string, double[])>();
        foreach (int c in new[] { 0, 3, 5, 7 }.Where(c => c < s.Channels))
        {
            var v = Enumerable.Range(0, s.Length).Select(r => (double)s.Values[r * s.Channels + c]).ToArray();
            var train = v.Take(TrainRows).ToArray();
            double mean = train.Average(), sd = Math.Sqrt(train.Select(x => (x - mean) * (x - mean)).Average());
            signal.Add((channels[c], v.Select(x => (x - mean) / (sd > 0 ? sd : 1)).ToArray()));
        }
        return new ReportSeries(s.Id, scored.Score, Enumerable.Repeat(threshold, s.Length).ToArray(), actual, labelled, alarms, signal, "signal (z-scored on train)");
    }
}
