using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SparkAnomaly.Data;
using SparkAnomaly.Evaluation;
using SparkAnomaly.Scoring;
using SparkAnomaly.Synthetic;
using SparkAnomaly.Training;

namespace SparkAnomaly.Cli;

/// <summary>Builds the command tree. Each command binds through its Option instances, never by name.</summary>
internal static partial class Commands
{
    /// <summary>The command's name in usage lines and messages, however it is launched (the installed tool's command).</summary>
    public const string CommandName = "sparkanomaly";

    /// <summary>
    /// The root command. Not a <see cref="RootCommand"/>: that one takes its name from the entry assembly, so help would
    /// say 'SparkAnomaly.Cli' (dotnet run, the dll, and the installed tool alike, whose command is sparkanomaly) or
    /// 'testhost'. A plain command named <see cref="CommandName"/> with RootCommand's --help and --version parses the same.
    /// </summary>
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var root = new Command(CommandName, "SparkAnomaly: train an LSTM-VAE for multivariate time-series anomaly detection with parameter averaging across workers, and score data with it. Example: sparkanomaly demo --out demo-out")
        {
            new System.CommandLine.Help.HelpOption(),
            new VersionOption(),
        };
        root.Subcommands.Add(Demo(stdout, stderr));
        root.Subcommands.Add(Generate(stdout, stderr));
        root.Subcommands.Add(Train(stdout, stderr));
        root.Subcommands.Add(Score(stdout, stderr));
        root.Subcommands.Add(Evaluate(stdout, stderr));
        root.Subcommands.Add(Inspect(stdout, stderr));
        root.Subcommands.Add(Benchmark(stdout, stderr));
        root.Subcommands.Add(Soak(stdout, stderr));
        return root;
    }

    // ---- shared options ----------------------------------------------------------------------

    private sealed class CommonOptions
    {
        public readonly Option<bool> Json = new("--json") { Description = "Print a machine-readable JSON summary on stdout." };
        public readonly Option<bool> Quiet = new("--quiet", "-q") { Description = "No progress output; errors only." };
        public readonly Option<bool> Overwrite = new("--overwrite") { Description = "Replace the files this command writes in an existing output directory: the previous ones are removed before the run starts; other files are kept." };

        public void AddTo(Command c)
        {
            c.Options.Add(Json);
            c.Options.Add(Quiet);
            c.Options.Add(Overwrite);
        }
    }

    private sealed class DataOptions
    {
        public readonly Option<string?> SeriesColumn = new("--series-column") { Description = "Column that names the series (default series_id; absent = one series)." };
        public readonly Option<string?> TimeColumn = new("--time-column") { Description = "Timestamp column (default timestamp; absent = row order)." };
        public readonly Option<string?> Channels = new("--channels") { Description = "Comma-separated channel columns (default: every numeric column)." };
        public readonly Option<string?> ExcludeChannels = new("--exclude-channels") { Description = "Comma-separated numeric columns to leave out of the channels; every other numeric column is one (quote a name with spaces: --exclude-channels \"Volume Flow RateRMS\"). Not with --channels." };
        public readonly Option<string?> LabelColumn = new("--label-column") { Description = "0/1 label column (default label; optional)." };
        public readonly Option<string?> SplitColumn = new("--split-column") { Description = "train/test split column (default split; optional). Rows with split=test are never trained on." };
        public readonly Option<string?> Delimiter = new("--delimiter") { Description = "CSV delimiter (default: detected from the header)." };
        public readonly Option<string?> Missing = new("--missing") { Description = "NaN/Inf/empty cells: reject (default), interpolate or drop." };

        public DataOptions()
        {
            Missing.AcceptOnlyFromAmong("reject", "interpolate", "drop");
        }

        public void AddTo(Command c)
        {
            foreach (var o in new Option[] { SeriesColumn, TimeColumn, Channels, ExcludeChannels, LabelColumn, SplitColumn, Delimiter, Missing })
            {
                c.Options.Add(o);
            }
        }

        /// <summary>The one-character delimiter of --delimiter ('tab' or \t for a tab), or null when it is not given.</summary>
        public char? DelimiterChar(ParseResult p) => p.GetValue(Delimiter) is string d
            ? d switch { "\\t" or "tab" => '\t', { Length: 1 } => d[0], _ => throw new SparkAnomalyException($"--delimiter '{d}' must be one character (or 'tab').") }
            : null;

        private static IReadOnlyList<string> List(string text) => text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

        public ReadOptions Read(ParseResult p)
        {
            var o = new ReadOptions();
            if (p.GetValue(SeriesColumn) is string s)
            {
                o = o with { SeriesColumn = s };
            }
            if (p.GetValue(TimeColumn) is string t)
            {
                o = o with { TimeColumn = t };
            }
            if (p.GetValue(Channels) is string ch)
            {
                o = o with { Channels = List(ch) };
            }
            if (p.GetValue(ExcludeChannels) is string ex)
            {
                o = o with { ExcludeChannels = List(ex) };
            }
            if (p.GetValue(LabelColumn) is string l)
            {
                o = o with { LabelColumn = l };
            }
            if (p.GetValue(SplitColumn) is string sp)
            {
                o = o with { SplitColumn = sp };
            }
            if (DelimiterChar(p) is char d)
            {
                o = o with { Delimiter = d };
            }
            if (p.GetValue(Missing) is string m)
            {
                o = o with { Missing = Enum.Parse<MissingPolicy>(m, ignoreCase: true) };
            }
            return o;
        }
    }

    /// <summary>Alarm post-processing at scoring time (the thresholded flags, then AlarmFilter).</summary>
    private sealed class AlarmOptions
    {
        public readonly Option<int> MinDuration = new("--min-duration") { Description = "Drop alarm runs shorter than N steps (default 1: keep all).", DefaultValueFactory = _ => 1 };
        public readonly Option<int> MergeGap = new("--merge-gap") { Description = "Join alarm runs separated by at most G normal steps (default 0).", DefaultValueFactory = _ => 0 };
        public readonly Option<int> Persistence = new("--persistence") { Description = "A step alarms only after P consecutive steps above the threshold, itself included (causal; applied before merging; default 1: every exceedance).", DefaultValueFactory = _ => 1 };

        public void AddTo(Command c)
        {
            c.Options.Add(MinDuration);
            c.Options.Add(MergeGap);
            c.Options.Add(Persistence);
        }

        public AlarmFilter? Filter(ParseResult p)
        {
            var f = new AlarmFilter(p.GetValue(MinDuration), p.GetValue(MergeGap), p.GetValue(Persistence));
            f.Validate();
            return f == AlarmFilter.None ? null : f;
        }
    }

    /// <summary>Training flags; each overrides the same field of --config, which overrides the defaults.</summary>
    private sealed class TrainingOptions
    {
        public readonly Option<string?> Config = new("--config", "-c") { Description = "Training configuration JSON (see conf/train.json for every field)." };
        public readonly Option<int?> Workers = new("--workers", "-w") { Description = "Replicas trained in parallel (default 2)." };
        public readonly Option<int?> Rounds = new("--rounds", "-r") { Description = "Averaging rounds (default 40)." };
        public readonly Option<double?> Epochs = new("--epochs") { Description = "Train for this many passes over the windows instead of a fixed number of rounds." };
        public readonly Option<long?> Seed = new("--seed", "-s") { Description = "Seed: the same seed and data give bit-identical models (default 42)." };
        public readonly Option<int?> BatchSize = new("--batch-size") { Description = "Windows per minibatch on each worker (default 64)." };
        public readonly Option<int?> AveragingFrequency = new("--averaging-frequency") { Description = "Minibatches per worker between averagings (default 5)." };
        public readonly Option<int?> Window = new("--window") { Description = "Window length T in time steps (default 64)." };
        public readonly Option<int?> Threads = new("--threads") { Description = "Intra-op threads per worker (default 1)." };
        public readonly Option<string?> Device = new("--device") { Description = "auto, cpu, cuda or cuda:N (default auto)." };
        public readonly Option<string?> Averaging = new("--averaging") { Description = "weighted (default: example-weighted, no dropped data) or dl4j (DL4J parity: unweighted, partial batches dropped)." };
        public readonly Option<string?> Threshold = new("--threshold") { Description = "Threshold rule on training-period scores: percentile:P, meanstd:K or pot:Q (default percentile:99.9)." };
        public readonly Option<int?> CalibrationRows = new("--calibration-rows") { Description = "Hold the last N training rows of each series out of training and fit the threshold on their out-of-sample scores (default 0: on the training rows' own scores)." };
        public readonly Option<string?> ThresholdScope = new("--threshold-scope") { Description = "global (default): one threshold; per-series: each series its own, fitted on its training rows." };
        public readonly Option<string?> ScoreRule = new("--score-rule") { Description = "How windows are scored and mapped to steps: covering-mean (default), last-step (causal), reconstruction-probability (An & Cho 2015, with a fitted variance per channel) or reconstruction-probability-last-step (the same, causal)." };
        public readonly Option<int?> CheckpointEvery = new("--checkpoint-every") { Description = "Checkpoint every N rounds (default 10; 0 = at the end only)." };
        public readonly Option<bool> Resume = new("--resume") { Description = "Continue from the output directory's last complete checkpoint, with its settings; add --rounds or --epochs to train a finished run further." };
        public readonly Option<bool> PrintConfig = new("--print-config") { Description = "Print the effective configuration, with where each value came from, and exit." };
        public readonly Option<string[]> InjectFault = new("--inject-fault") { Description = "Fault injection for drills: worker:round[:throw|nan|wrong-shape|duplicate[:times]]. Repeatable.", AllowMultipleArgumentsPerToken = false };

        public TrainingOptions()
        {
            Averaging.AcceptOnlyFromAmong("weighted", "dl4j");
            ThresholdScope.AcceptOnlyFromAmong("global", "per-series");
            ScoreRule.AcceptOnlyFromAmong(ScoreRuleNames);
        }

        public void AddTo(Command c, bool full)
        {
            var all = full
                ? new Option[] { Config, Workers, Rounds, Epochs, Seed, BatchSize, AveragingFrequency, Window, Threads, Device, Averaging, Threshold, CalibrationRows, ThresholdScope, ScoreRule, CheckpointEvery, Resume, PrintConfig, InjectFault }
                : new Option[] { Config, Workers, Rounds, Seed, Threads, Device, PrintConfig };
            foreach (var o in all)
            {
                c.Options.Add(o);
            }
        }

        /// <summary>
        /// Layers the settings: <paramref name="defaults"/> (built-in, the demo's, or a resumed checkpoint's, named by
        /// <paramref name="defaultsSource"/>), then the fields --config sets, then flags.
        /// </summary>
        public (TrainingConfig Config, List<(string Field, string Value, string Source, string? Unused)> Sources) Resolve(ParseResult p, TrainingConfig defaults, string defaultsSource = "default")
        {
            var config = defaults;
            string? file = p.GetValue(Config);
            var fromFile = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            if (file is not null)
            {
                var fileConfig = TrainingConfig.Load(file);
                using var doc = JsonDocument.Parse(File.ReadAllText(file), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
                fromFile.UnionWith(doc.RootElement.EnumerateObject().Select(p => p.Name));
                config = Overlay(defaults, fileConfig, fromFile, file);
            }
            if (p.GetValue(Rounds) is not null && p.GetValue(Epochs) is not null)
            {
                throw new SparkAnomalyException("--rounds and --epochs both set the length of training; pass one of them.");
            }
            var fromFlags = new HashSet<string>();
            void Flag<T>(Option<T?> option, string field, Func<TrainingConfig, T, TrainingConfig> apply)
                where T : struct
            {
                if (p.GetValue(option) is T v)
                {
                    config = apply(config, v);
                    fromFlags.Add(field);
                }
            }
            void FlagS(Option<string?> option, string field, Func<TrainingConfig, string, TrainingConfig> apply)
            {
                if (p.GetValue(option) is string v)
                {
                    config = apply(config, v);
                    fromFlags.Add(field);
                }
            }
            Flag(Workers, "workers", (c, v) => c with { Workers = v });
            Flag(Rounds, "rounds", (c, v) => c with { Rounds = v, Epochs = null });
            Flag(Epochs, "epochs", (c, v) => c with { Epochs = v });
            Flag(Seed, "seed", (c, v) => c with { Seed = v });
            Flag(BatchSize, "batchSizePerWorker", (c, v) => c with { BatchSizePerWorker = v });
            Flag(AveragingFrequency, "averagingFrequency", (c, v) => c with { AveragingFrequency = v });
            Flag(Window, "windowLength", (c, v) => c with { WindowLength = v });
            Flag(Threads, "threadsPerWorker", (c, v) => c with { ThreadsPerWorker = v });
            Flag(CheckpointEvery, "checkpointEvery", (c, v) => c with { CheckpointEvery = v });
            Flag(CalibrationRows, "calibrationRows", (c, v) => c with { CalibrationRows = v });
            FlagS(Device, "device", (c, v) => c with { Device = v });
            FlagS(Averaging, "averaging", (c, v) => c with { Averaging = v == "dl4j" ? AveragingMode.Dl4j : AveragingMode.Weighted });
            FlagS(Threshold, "threshold", (c, v) => c with { Threshold = v });
            FlagS(ThresholdScope, "thresholdScope", (c, v) => c with { ThresholdScope = v == "per-series" ? Scoring.ThresholdScope.PerSeries : Scoring.ThresholdScope.Global });
            FlagS(ScoreRule, "scoreRule", (c, v) => c with { ScoreRule = ParseScoreRule(v) });
            config.Validate();
            ThresholdSpec.Parse(config.Threshold);
            var json = JsonDocument.Parse(config.ToJson()).RootElement;
            var sources = json.EnumerateObject().Select(prop => (prop.Name, prop.Value.GetRawText(),
                fromFlags.Contains(prop.Name) ? "command line" : fromFile.Contains(prop.Name) ? file! : defaultsSource,
                prop.Name == "rounds" && config.Epochs is not null ? "epochs is set" : (string?)null)).ToList();
            return (config, sources);
        }

        /// <summary>The fields a config file names, over <paramref name="under"/>; the others keep their value there.</summary>
        private static TrainingConfig Overlay(TrainingConfig under, TrainingConfig file, HashSet<string> named, string source)
        {
            var merged = JsonNode.Parse(under.ToJson())!.AsObject();
            var top = JsonNode.Parse(file.ToJson())!.AsObject();
            foreach (var name in merged.Select(kv => kv.Key).ToList())
            {
                // A file that sets rounds (and not epochs) asks for a fixed number of rounds, as --rounds does.
                if (named.Contains(name) || (name == "epochs" && named.Contains("rounds") && !named.Contains("epochs")))
                {
                    merged[name] = top[name]?.DeepClone();
                }
            }
            return TrainingConfig.FromJson(merged.ToJsonString(), source);
        }

        public IReadOnlyList<Fault> Faults(ParseResult p) => (p.GetValue(InjectFault) ?? Array.Empty<string>()).Select(Fault.Parse).ToList();
    }

    // ---- commands ---------------------------------------------------------------------------

    private static Command Demo(TextWriter stdout, TextWriter stderr)
    {
        var common = new CommonOptions();
        var training = new TrainingOptions();
        var outDir = new Option<string>("--out", "-o") { Description = "Directory for data.csv, model.parquet, scores.parquet, stats.json, training.png and checkpoint.bin.", DefaultValueFactory = _ => "demo-out" };
        var cmd = new Command("demo", "Generate Lorenz bearing data with injected faults, train with parameter averaging, score, and report how well the faults were found. Example: sparkanomaly demo --out demo-out");
        var alarms = new AlarmOptions();
        cmd.Options.Add(outDir);
        training.AddTo(cmd, full: false);
        training.Rounds.Description = $"Averaging rounds (default {DemoDefaults.Rounds} for the demo).";
        alarms.AddTo(cmd);
        common.AddTo(cmd);
        cmd.SetAction(p =>
        {
            var (config, sources) = training.Resolve(p, DemoDefaults);
            var filter = alarms.Filter(p);
            var ui = new Reporter(stdout, stderr, p.GetValue(common.Quiet), p.GetValue(common.Json));
            if (p.GetValue(training.PrintConfig))
            {
                return ui.PrintConfig(sources);
            }
            var data = LorenzBearingGenerator.Generate(new LorenzBearingOptions { Seed = config.Seed });
            using var dir = OutputDirectory.Claim(p.GetValue(outDir)!, p.GetValue(common.Overwrite), outputs: DemoOutputs);
            dir.RemovePreviousOutputs();
            SeriesWriter.WriteCsv(data, dir.File("data.csv"));
            ui.Info($"generated {data.Series.Count} series × {data.Channels} channels ({data.TotalRows:N0} rows) → {dir.File("data.csv")}");
            var run = TrainAndSave(data, config, dir, ui, new TrainRunOptions(), "demo");
            var scored = Detector.Score(run.Model, data, out _, filter);
            ScoresFile.Save(dir.File("scores.parquet"), run.Model, scored, data.ChannelNames, data.TimestampKind, filter);
            var report = ScoredEvaluation.Evaluate(scored);
            return ui.Summary(run, report, dir, scored);
        });
        return cmd;
    }

    private static Command Generate(TextWriter stdout, TextWriter stderr)
    {
        var common = new CommonOptions();
        var outDir = new Option<string>("--out", "-o") { Description = "Directory to write data.csv into.", Required = true };
        var seed = new Option<long>("--seed", "-s") { Description = "Generator seed (default 7).", DefaultValueFactory = _ => 7 };
        var healthy = new Option<int>("--healthy") { Description = "Healthy runs (split=train).", DefaultValueFactory = _ => 6 };
        var faulty = new Option<int>("--faulty") { Description = "Runs with a fault from a labelled step onward (split=test).", DefaultValueFactory = _ => 4 };
        var length = new Option<int>("--length") { Description = "Time steps per run.", DefaultValueFactory = _ => 2000 };
        var channels = new Option<int>("--channels") { Description = "Sensor channels.", DefaultValueFactory = _ => 8 };
        var cmd = new Command("generate", "Write synthetic Lorenz-attractor bearing vibration data (long CSV: series_id, timestamp, sensors, label, split). Example: sparkanomaly generate --out data --faulty 6");
        foreach (var o in new Option[] { outDir, seed, healthy, faulty, length, channels })
        {
            cmd.Options.Add(o);
        }
        common.AddTo(cmd);
        cmd.SetAction(p =>
        {
            var ui = new Reporter(stdout, stderr, p.GetValue(common.Quiet), p.GetValue(common.Json));
            var data = LorenzBearingGenerator.Generate(new LorenzBearingOptions
            {
                Seed = p.GetValue(seed), HealthyRuns = p.GetValue(healthy), FaultyRuns = p.GetValue(faulty),
                Length = p.GetValue(length), Channels = p.GetValue(channels),
            });
            using var dir = OutputDirectory.Claim(p.GetValue(outDir)!, p.GetValue(common.Overwrite), outputs: GenerateOutputs);
            string file = dir.File("data.csv");
            dir.RemovePreviousOutputs();
            SeriesWriter.WriteCsv(data, file);
            return ui.Result(new { file, series = data.Series.Count, rows = data.TotalRows, channels = data.ChannelNames },
                $"wrote {data.Series.Count} series, {data.TotalRows:N0} rows, {data.Channels} channels to {file}");
        });
        return cmd;
    }

    private static Command Train(TextWriter stdout, TextWriter stderr)
    {
        var common = new CommonOptions();
        var data = new DataOptions();
        var training = new TrainingOptions();
        var dataPath = new Option<string>("--data", "-d") { Description = "CSV or Parquet file, or a Spark-style Parquet directory.", Required = true };
        var outDir = new Option<string>("--out", "-o") { Description = "Directory for model.parquet, stats.json and checkpoints.", Required = true };
        var cmd = new Command("train", "Train an LSTM-VAE with parameter averaging on an embedded local cluster. Example: sparkanomaly train --data sensors.parquet --out run1 --workers 2 --rounds 60");
        cmd.Options.Add(dataPath);
        cmd.Options.Add(outDir);
        training.AddTo(cmd, full: true);
        data.AddTo(cmd);
        common.AddTo(cmd);
        cmd.SetAction(p =>
        {
            // A resumed run defaults to the settings it was started with: 'train --data D --out O --resume' is enough.
            bool resume = p.GetValue(training.Resume);
            string checkpoint = Path.Combine(p.GetValue(outDir)!, "checkpoint.bin");
            var (config, sources) = resume && File.Exists(checkpoint)
                ? training.Resolve(p, Checkpoint.ReadConfig(checkpoint), "checkpoint")
                : training.Resolve(p, new TrainingConfig());
            var ui = new Reporter(stdout, stderr, p.GetValue(common.Quiet), p.GetValue(common.Json));
            if (p.GetValue(training.PrintConfig))
            {
                return ui.PrintConfig(sources);
            }
            var faults = training.Faults(p);
            var set = DataReader.Read(p.GetValue(dataPath)!, data.Read(p), out var warnings);
            foreach (var w in warnings.Concat(Normaliser.ScaleWarnings(set)))
            {
                ui.Warn(w);
            }
            using var dir = OutputDirectory.Claim(p.GetValue(outDir)!, p.GetValue(common.Overwrite), resume, resumable: true, outputs: TrainOutputs);
            var run = TrainAndSave(set, config, dir, ui, new TrainRunOptions { Resume = resume, Faults = faults }, "train");
            return ui.Summary(run, null, dir, null);
        });
        return cmd;
    }

    private static Command Score(TextWriter stdout, TextWriter stderr)
    {
        var common = new CommonOptions();
        var data = new DataOptions();
        var modelPath = new Option<string>("--model", "-m") { Description = "model.parquet written by 'sparkanomaly train'.", Required = true };
        var dataPath = new Option<string>("--data", "-d") { Description = "CSV or Parquet file, or a Spark-style Parquet directory, with the model's channels.", Required = true };
        var outDir = new Option<string>("--out", "-o") { Description = "Directory for scores.parquet.", Required = true };
        var cmd = new Command("score", "Score every time step of new data with a trained model. Example: sparkanomaly score --model run1/model.parquet --data new.csv --out scored");
        var alarms = new AlarmOptions();
        foreach (var o in new Option[] { modelPath, dataPath, outDir })
        {
            cmd.Options.Add(o);
        }
        data.AddTo(cmd);
        // The model fixes the channels: --exclude-channels is not offered (hidden from --help) and refused, naming them.
        data.ExcludeChannels.Hidden = true;
        data.SplitColumn.Description = "train/test split column (default split; optional). Scoring scores every row; the split is copied to scores.parquet, where evaluation leaves split=train rows out (the threshold was fitted on them).";
        alarms.AddTo(cmd);
        common.AddTo(cmd);
        cmd.SetAction(p =>
        {
            var ui = new Reporter(stdout, stderr, p.GetValue(common.Quiet), p.GetValue(common.Json));
            var filter = alarms.Filter(p);
            var model = ModelFile.Load(p.GetValue(modelPath)!);
            if (p.GetValue(data.ExcludeChannels) is not null)
            {
                throw new SparkAnomalyException(
                    $"score uses the channels the model was trained on ({string.Join(", ", model.Normaliser.Channels)}), so --exclude-channels does not apply. Leave it out; to leave a column out of the model, pass --exclude-channels to train.");
            }
            var read = data.Read(p);
            if (read.Channels is null)
            {
                read = read with { Channels = model.Normaliser.Channels, ChannelsSource = $"model '{p.GetValue(modelPath)}'" };
            }
            var set = DataReader.Read(p.GetValue(dataPath)!, read, out var warnings);
            foreach (var w in warnings.Concat(model.Normaliser.ShiftWarnings(set)))
            {
                ui.Warn(w);
            }
            var scored = Detector.Score(model, set, out var skipped, filter);
            foreach (var s in skipped)
            {
                ui.Warn($"series {s} is shorter than the model's window of {model.Model.WindowLength} rows and was not scored");
            }
            // Evaluated before anything is written: an error here must not leave a scores file behind an exit code of 1.
            string? nothingToEvaluate = ScoredEvaluation.NothingToEvaluate(scored);
            var report = nothingToEvaluate is null ? ScoredEvaluation.Evaluate(scored) : null;
            using var dir = OutputDirectory.Claim(p.GetValue(outDir)!, p.GetValue(common.Overwrite), outputs: ScoreOutputs);
            string file = dir.File("scores.parquet");
            dir.RemovePreviousOutputs();
            ScoresFile.Save(file, model, scored, set.ChannelNames, set.TimestampKind, filter);
            if (nothingToEvaluate is not null && set.HasLabels)
            {
                ui.Info($"no evaluation: {nothingToEvaluate}");
            }
            long rows = scored.Sum(s => (long)s.Series.Length), flagged = scored.Sum(s => (long)s.IsAnomaly.Count(f => f));
            return ui.Result(new
            {
                file, rows, flagged, threshold = model.Threshold.Value, thresholdMethod = model.Threshold.Method,
                skipped, evaluation = report is null ? null : Reporter.ReportJson(report),
            }, $"scored {rows:N0} steps of {scored.Count} series, {flagged:N0} flagged ({ThresholdText(model.Threshold, scored)}) → {file}"
               + (report is null ? "" : $"\n{Reporter.ReportLine(report)}"));
        });
        return cmd;
    }

    /// <summary>The threshold a score run used, as a person reads it: one value, or per series with the global fallback.</summary>
    private static string ThresholdText(ThresholdInfo threshold, IReadOnlyList<ScoredSeries> scored)
    {
        string global = threshold.Value.ToString("G4", CultureInfo.InvariantCulture);
        if (threshold.PerSeries is not { Count: > 0 } own)
        {
            return $"threshold {global}";
        }
        int withOwn = scored.Count(s => own.ContainsKey(s.Series.Id));
        return $"per-series thresholds: {withOwn} of {scored.Count} series their own, the others the global {global}";
    }

    // ---- helpers ----------------------------------------------------------------------------

    /// <summary>The score rules as the command line and conf/train.json spell them, in enum order: a new rule cannot be left out of an option.</summary>
    private static readonly string[] ScoreRuleNames = Enum.GetNames<Scoring.ScoreRule>().Select(Kebab).ToArray();

    /// <summary>A rule name from <see cref="ScoreRuleNames"/> (the option has already refused any other).</summary>
    private static Scoring.ScoreRule ParseScoreRule(string name) => Enum.Parse<Scoring.ScoreRule>(name.Replace("-", ""), ignoreCase: true);

    // The files each command writes into --out. --overwrite removes the previous run's copies when the
    // directory is claimed, before any work: an interrupted run then leaves no old file a reader could take
    // for its result (an old model.parquet beside a new checkpoint.bin). Other files are left alone. The
    // results come first: if one cannot be removed, the claim fails before the checkpoint is touched.
    private static readonly string[] TrainOutputs = { "model.parquet", "stats.json", Reporting.TrainingChart.FileName, "checkpoint.bin" };
    private static readonly string[] GenerateOutputs = { "data.csv" };
    private static readonly string[] ScoreOutputs = { "scores.parquet" };
    private static readonly string[] DemoOutputs = ScoreOutputs.Concat(TrainOutputs).Concat(GenerateOutputs).ToArray();
    private static readonly string[] BenchmarkOutputs = { "report.html", "results.json", "files.csv" };

    /// <summary>The demo trains a little less than a production default so it finishes in about a minute on two cores.</summary>
    private static TrainingConfig DemoDefaults => new() { Rounds = 60, CheckpointEvery = 0 };

    private static TrainRun TrainAndSave(SeriesSet data, TrainingConfig config, OutputDirectory dir, Reporter ui, TrainRunOptions options, string what)
    {
        ui.Info($"training: {config.Workers} workers × batch {config.BatchSizePerWorker} × {config.AveragingFrequency} minibatches per round, window {config.WindowLength}, seed {config.Seed}");
        TrainRun run = ui.WithProgress(config, progress => Detector.Train(data, config, options with
        {
            CheckpointPath = dir.File("checkpoint.bin"),
            OnRound = progress,
            // After everything that can refuse the run (rounds from epochs, calibration rows, no trainable window).
            BeforeFirstRound = dir.RemovePreviousOutputs,
        }));
        // A series that is split=test throughout is held out on purpose (the demo's faulty runs): one note, not a warning each.
        // SkippedSeries name each series with its length: "id (N rows)".
        var allTest = data.Series.Where(x => x.Splits is { } splits && splits.All(v => v == RowSplit.Test)).ToList();
        var heldOut = run.SkippedSeries.Where(entry => allTest.Any(x => entry == $"{x.Id} ({x.Length} rows)")).ToList();
        if (heldOut.Count > 0)
        {
            ui.Info($"not trained on: {heldOut.Count} series with split=test on every row (held out, as intended): {string.Join(", ", heldOut)}");
        }
        foreach (var s in run.SkippedSeries.Except(heldOut))
        {
            ui.Warn($"series {s} has no {config.WindowLength} consecutive trainable rows (rows with split=test are never trained on) and was not trained on");
        }
        ModelFile.Save(run.Model, dir.File("model.parquet"));
        StatsFile.Save(dir.File("stats.json"), run, config);
        WriteTrainingChart(run, dir, ui);
        return run;
    }
}
