using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using SparkAnomaly.Data;
using SparkAnomaly.Synthetic;
using SparkAnomaly.Training;

namespace SparkAnomaly.Cli;

/// <summary>
/// <c>sparkanomaly soak</c>: trains a tiny model for many rounds on generated data while injecting random
/// faults from a fixed seed — worker exceptions, NaN results, wrong shapes, duplicated results, and driver
/// crashes right after a checkpoint (resumed through a stale lock and a torn temporary file) — then checks
/// that the final checkpoint and model equal those of the same run without faults.
/// </summary>
internal static partial class Commands
{
    private static Command Soak(TextWriter stdout, TextWriter stderr)
    {
        var rounds = new Option<int>("--rounds", "-r") { Description = "Averaging rounds to train (default 200).", DefaultValueFactory = _ => 200 };
        var faultRate = new Option<double>("--fault-rate", "-p") { Description = "Chance of a fault per worker and round, and of a driver crash per round (default 0.05).", DefaultValueFactory = _ => 0.05 };
        var seed = new Option<long>("--seed", "-s") { Description = "Seed of the fault schedule, the data and the model (default 1).", DefaultValueFactory = _ => 1 };
        var workers = new Option<int>("--workers", "-w") { Description = "Workers (default 2).", DefaultValueFactory = _ => 2 };
        var json = new Option<bool>("--json") { Description = "Print a machine-readable JSON summary on stdout." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress output; errors only." };
        var cmd = new Command("soak", "Reliability soak: train many rounds with random injected faults (fixed seed) and check the final model equals the fault-free run. Example: sparkanomaly soak --rounds 200 --fault-rate 0.05 --seed 1");
        foreach (var o in new Option[] { rounds, faultRate, seed, workers, json, quiet })
        {
            cmd.Options.Add(o);
        }
        cmd.SetAction(p =>
        {
            var ui = new Reporter(stdout, stderr, p.GetValue(quiet), p.GetValue(json));
            double rate = p.GetValue(faultRate);
            if (!(rate >= 0 && rate <= 1))
            {
                throw new SparkAnomalyException($"--fault-rate {rate.ToString(CultureInfo.InvariantCulture)} must be between 0 and 1.");
            }
            var result = SoakRun.Execute(p.GetValue(rounds), p.GetValue(workers), rate, p.GetValue(seed), ui);
            string kinds = string.Join(", ", result.FaultsByKind.Select(k => $"{k.Key} {k.Value}"));
            int code = ui.Result(result, string.Join('\n',
                $"rounds run: {result.RoundsRun} ({result.Resumes} resumes after driver crashes)",
                $"faults injected: {result.FaultsInjected} ({kinds})",
                $"faults survived: {result.FaultsSurvived}",
                $"bytes lost: {result.BytesLost} (of {result.BytesCompared} checkpoint and parameter bytes compared with the fault-free run)",
                $"final model: {(result.Identical ? "bit-identical to the fault-free run" : "DIFFERS from the fault-free run")}",
                $"seconds: {result.Seconds.ToString("F1", CultureInfo.InvariantCulture)}"));
            if (!result.Identical || result.BytesLost != 0 || result.FaultsSurvived != result.FaultsInjected)
            {
                stderr.WriteLine("error: soak failed: the faulty run did not end identical to the fault-free run.");
                return Cli.UserError;
            }
            return code;
        });
        return cmd;
    }

    /// <summary>The soak summary (also its --json shape).</summary>
    internal sealed record SoakResult(
        int Rounds, int Workers, double FaultRate, long Seed, int RoundsRun, int Resumes,
        int FaultsInjected, IReadOnlyDictionary<string, int> FaultsByKind, int FaultsSurvived,
        long BytesLost, long BytesCompared, bool Identical, double Seconds);

    internal static class SoakRun
    {
        private const int MaxTaskRetries = 3;

        private static TrainingConfig Config(int rounds, int workers, long seed) => new()
        {
            Workers = workers,
            Rounds = rounds,
            BatchSizePerWorker = 16,
            AveragingFrequency = 3,
            WindowLength = 16,
            Stride = 2,
            HiddenSize = 8,
            LatentSize = 4,
            CheckpointEvery = 1,
            MaxTaskRetries = MaxTaskRetries,
            Seed = seed,
        };

        public static SoakResult Execute(int rounds, int workers, double rate, long seed, Reporter ui)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var config = Config(rounds, workers, seed).Validate();
            var data = LorenzBearingGenerator.Generate(new LorenzBearingOptions { HealthyRuns = 3, FaultyRuns = 0, Length = 300, Channels = 4, Seed = seed });
            string root = Path.Combine(Path.GetTempPath(), $"sparkanomaly-soak-{Environment.ProcessId}-{Guid.NewGuid():N}");
            try
            {
                // The reference: the same run with no faults.
                string cleanDir = Path.Combine(root, "clean");
                TrainRun clean;
                using (var dir = OutputDirectory.Claim(cleanDir, overwrite: false))
                {
                    clean = Detector.Train(data, config, new TrainRunOptions { CheckpointPath = dir.File("checkpoint.bin") });
                }
                ui.Info($"fault-free run: {rounds} rounds in {clock.Elapsed.TotalSeconds:F1} s");

                // The schedule, drawn from the seed: worker faults (retried or ignored) and driver crashes.
                var random = new Random(unchecked((int)seed ^ 0x50A4));
                var faults = new List<Fault>();
                var crashes = new SortedSet<int>();
                var kinds = new[] { FaultKind.Throw, FaultKind.NaN, FaultKind.WrongShape, FaultKind.Duplicate };
                for (int r = 0; r < rounds; r++)
                {
                    for (int w = 0; w < workers; w++)
                    {
                        if (random.NextDouble() < rate)
                        {
                            var kind = kinds[random.Next(kinds.Length)];
                            faults.Add(new Fault(w, r, kind, kind == FaultKind.Duplicate ? 1 : random.Next(1, MaxTaskRetries + 1)));
                        }
                    }
                    if (r + 1 < rounds && random.NextDouble() < rate)
                    {
                        crashes.Add(r + 1);   // the driver dies right after writing checkpoint r + 1
                    }
                }

                string faultyDir = Path.Combine(root, "faulty");
                string checkpoint = Path.Combine(faultyDir, "checkpoint.bin");
                int resumes = 0, retried = 0, duplicates = 0, roundsRun = 0;
                var pendingCrashes = new SortedSet<int>(crashes);
                TrainRun? faulty = null;
                while (faulty is null)
                {
                    try
                    {
                        using var dir = OutputDirectory.Claim(faultyDir, overwrite: false, resume: true);
                        faulty = Detector.Train(data, config, new TrainRunOptions
                        {
                            CheckpointPath = checkpoint,
                            Resume = true,
                            Faults = faults,
                            OnRound = s =>
                            {
                                // Called after the round's checkpoint is written: a crash here loses nothing but the process.
                                roundsRun++;
                                retried += s.Retries;
                                duplicates += s.DuplicatesIgnored;
                                if (pendingCrashes.Remove(s.Round + 1))
                                {
                                    throw new SimulatedCrash(s.Round + 1);
                                }
                            },
                        });
                    }
                    catch (SimulatedCrash crash)
                    {
                        // What a SIGKILL leaves: the dead run's lock and a torn temporary file beside the checkpoint.
                        LeaveCrashDebris(faultyDir, checkpoint);
                        resumes++;
                        ui.Info($"driver crash after checkpoint {crash.Round}; resuming");
                    }
                }

                int injected = faults.Sum(f => f.Times) + crashes.Count;
                int survived = retried + duplicates + resumes;
                var byKind = kinds.ToDictionary(k => k switch { FaultKind.NaN => "nan", FaultKind.WrongShape => "wrong-shape", _ => k.ToString().ToLowerInvariant() },
                    k => faults.Where(f => f.Kind == k).Sum(f => f.Times));
                byKind["driver-crash"] = crashes.Count;

                var (lost, compared) = BytesLost(File.ReadAllBytes(Path.Combine(cleanDir, "checkpoint.bin")), File.ReadAllBytes(checkpoint));
                var (lostParams, comparedParams) = BytesLost(MemoryMarshal.AsBytes(clean.Model.Parameters.AsSpan()).ToArray(), MemoryMarshal.AsBytes(faulty.Model.Parameters.AsSpan()).ToArray());
                bool tempsLeft = Directory.EnumerateFiles(faultyDir, ".*").Any();
                return new SoakResult(rounds, workers, rate, seed, roundsRun, resumes, injected, byKind, survived,
                    lost + lostParams + (tempsLeft ? 1 : 0), compared + comparedParams,
                    lost + lostParams == 0 && !tempsLeft && clean.Model.Parameters.AsSpan().SequenceEqual(faulty.Model.Parameters),
                    clock.Elapsed.TotalSeconds);
            }
            finally
            {
                try
                {
                    Directory.Delete(root, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }

        /// <summary>Bytes that differ between the fault-free and the faulty file, counting a length difference as lost bytes.</summary>
        private static (long Lost, long Compared) BytesLost(byte[] expected, byte[] actual)
        {
            long lost = Math.Abs(expected.Length - actual.Length);
            int n = Math.Min(expected.Length, actual.Length);
            for (int i = 0; i < n; i++)
            {
                if (expected[i] != actual[i])
                {
                    lost++;
                }
            }
            return (lost, expected.Length);
        }

        private static void LeaveCrashDebris(string directory, string checkpoint)
        {
            // A process id that cannot be running (above any pid_max) on this host: a stale lock.
            File.WriteAllText(Path.Combine(directory, OutputDirectory.LockFileName), $"{int.MaxValue - 1} {Environment.MachineName} {DateTime.UtcNow:O}");
            string torn = Path.Combine(directory, $".{Path.GetFileName(checkpoint)}.{int.MaxValue - 1}.{Guid.NewGuid():N}.tmp");
            var bytes = File.ReadAllBytes(checkpoint);
            File.WriteAllBytes(torn, bytes[..(bytes.Length / 2)]);
        }

        private sealed class SimulatedCrash(int round) : Exception($"simulated driver crash after checkpoint {round}")
        {
            public int Round { get; } = round;
        }
    }
}
