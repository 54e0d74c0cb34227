using System.Diagnostics;
using System.Text.Json.Nodes;
using SparkAnomaly.Model;
using SparkAnomaly.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SparkAnomaly.Benchmarks;

/// <summary>
/// `--profile`: where the time of one training step and one round goes, raw loop against the
/// framework's pieces, medians of many repetitions on one thread (robust on a loaded machine).
/// </summary>
internal static class Profile
{
    public static JsonObject Run(int reps, TextWriter log)
    {
        TorchRuntime.EnsureLoaded();
        bool tuned = Environment.GetEnvironmentVariable("PROFILE_TUNE") == "1" && NativeAllocator.EnsureTuned();
        log.WriteLine($"profile: malloc tuning {(tuned ? "on" : "off")}");
        torch.set_num_threads(1);
        using var data = Workload.MakeData(Workload.Batches * Workload.B, Workload.Seed);
        var batches = data.view(Workload.Batches, Workload.B, Workload.T, Workload.F);
        var flat = data.data<float>().ToArray();
        var result = new JsonObject();
        void Report(string name, List<double> ms)
        {
            ms.Sort();
            result[name] = Math.Round(ms[ms.Count / 2], 4);
            log.WriteLine($"profile: {name,-40} median {ms[ms.Count / 2]:F4} ms  min {ms[0]:F4} ms");
        }
        List<double> Time(Action a, int n)
        {
            for (int i = 0; i < Math.Max(3, n / 10); i++)
            {
                a();
            }
            var list = new List<double>(n);
            for (int i = 0; i < n; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                a();
                list.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
            return list;
        }

        // raw step
        torch.random.manual_seed(Workload.Seed);
        long f0 = Machine.MinorFaults();
        var raw = new RawLstmVae();
        var opt = optim.Adam(raw.parameters(), lr: Workload.LearningRate);
        int it = 0;
        Report("raw step", Time(() =>
        {
            using var scope = NewDisposeScope();
            var x = batches[it++ % Workload.Batches];
            var eps = randn(Workload.B, Workload.Z);
            opt.zero_grad();
            var (xhat, mu, lv) = raw.Forward(x, eps);
            var loss = RawLstmVae.Loss(xhat, x, mu, lv);
            loss.backward();
            opt.step();
        }, reps));
        {
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            long fa = Machine.MinorFaults();
            var sw = Stopwatch.StartNew();
            for (int k = 0; k < reps; k++)
            {
                using var scope = NewDisposeScope();
                var x = batches[it++ % Workload.Batches];
                var eps = randn(Workload.B, Workload.Z);
                opt.zero_grad();
                var (xhat, mu, lv) = raw.Forward(x, eps);
                RawLstmVae.Loss(xhat, x, mu, lv).backward();
                opt.step();
            }
            double cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / reps;
            result["raw_step_cpu_ms"] = cpuMs;
            log.WriteLine($"profile: raw step CPU time {cpuMs:F2} ms, wall {sw.Elapsed.TotalMilliseconds / reps:F2} ms, minor faults {(Machine.MinorFaults() - fa) / (double)reps:F0} per step");
        }
        result["raw_step_minor_faults"] = (Machine.MinorFaults() - f0) / (reps * 1.1);
        log.WriteLine($"profile: raw step minor faults per step {result["raw_step_minor_faults"]}");
        if (Environment.GetEnvironmentVariable("PROFILE_THREAD") == "1")
        {
            // the same raw step on a fresh dedicated thread, as LocalCluster runs its workers
            List<double>? threaded = null;
            var th = new Thread(() =>
            {
                torch.set_num_threads(1);
                threaded = Time(() =>
                {
                    using var scope = NewDisposeScope();
                    var x = batches[it++ % Workload.Batches];
                    var eps = randn(Workload.B, Workload.Z);
                    opt.zero_grad();
                    var (xhat, mu, lv) = raw.Forward(x, eps);
                    RawLstmVae.Loss(xhat, x, mu, lv).backward();
                    opt.step();
                }, reps);
            });
            long fw0 = Machine.MinorFaults();
            th.Start();
            th.Join();
            log.WriteLine($"profile: worker-thread faults per step {(Machine.MinorFaults() - fw0) / (reps * 1.1):F0}");
            Report("raw step on a worker thread", threaded!);
            Report("raw step on the main thread again", Time(() =>
            {
                using var scope = NewDisposeScope();
                var x = batches[it++ % Workload.Batches];
                var eps = randn(Workload.B, Workload.Z);
                opt.zero_grad();
                var (xhat, mu, lv) = raw.Forward(x, eps);
                RawLstmVae.Loss(xhat, x, mu, lv).backward();
                opt.step();
            }, reps));
        }
        Report("raw forward+loss+backward", Time(() =>
        {
            using var scope = NewDisposeScope();
            var x = batches[it++ % Workload.Batches];
            var eps = randn(Workload.B, Workload.Z);
            opt.zero_grad();
            var (xhat, mu, lv) = raw.Forward(x, eps);
            RawLstmVae.Loss(xhat, x, mu, lv).backward();
        }, reps));
        Report("raw forward only (no_grad)", Time(() =>
        {
            using var scope = NewDisposeScope();
            using var ng = no_grad();
            var x = batches[it++ % Workload.Batches];
            var eps = randn(Workload.B, Workload.Z);
            raw.Forward(x, eps);
        }, reps));
        Report("raw torch.optim.Adam step", Time(() => opt.step(), reps));

        // framework replica step with prebuilt inputs
        var model = new ModelConfig(Workload.F, Workload.T, Workload.H, Workload.Z);
        using var replica = new Replica(model);
        replica.SetParameters(Replica.InitialParameters(model, Workload.Seed));
        var settings = new OptimizerSettings(OptimizerKind.Adam, Workload.LearningRate);
        Report("framework Replica.TrainStep", Time(() =>
        {
            using var scope = NewDisposeScope();
            var x = batches[it++ % Workload.Batches];
            var eps = randn(Workload.B, Workload.Z);
            replica.TrainStep(x, eps, 1.0, settings);
        }, reps));
        Report("framework forward+loss+backward", Time(() =>
        {
            using var scope = NewDisposeScope();
            var x = batches[it++ % Workload.Batches];
            var eps = randn(Workload.B, Workload.Z);
            replica.Model.zero_grad();
            var (xhat, mu, lv) = replica.Model.call(x, eps);
            LstmVae.Elbo(xhat, x, mu, lv, 1.0).Loss.backward();
        }, reps));

        // per-step input assembly as TrainingWorker does it
        var buffer = new float[Workload.B * Workload.T * Workload.F];
        Report("batch copy + tensor(buffer)", Time(() =>
        {
            using var scope = NewDisposeScope();
            for (int i = 0; i < Workload.B; i++)
            {
                flat.AsSpan(((it + i * 7) % 2048) * 512, 512).CopyTo(buffer.AsSpan(i * 512));
            }
            tensor(buffer, new long[] { Workload.B, Workload.T, Workload.F });
        }, reps));
        Report("new Generator + randn eps", Time(() =>
        {
            using var scope = NewDisposeScope();
            using var g = new Generator(12345UL + (ulong)it++);
            randn(new long[] { Workload.B, Workload.Z }, generator: g);
        }, reps));

        // per-round: payload and parameter load / flatten
        var p = replica.GetParameters();
        var u = replica.GetUpdater();
        var req = new WorkerRequest
        {
            ConfigHash = 0, Round = 0, Worker = 0, Workers = 1, Seed = 0, BatchCursor = 0, BatchSize = Workload.B, Steps = 5,
            DropPartialBatch = false, KlWeight = 1, Optimizer = OptimizerKind.Adam, LearningRate = 1e-3, GradientClip = 0,
            Model = model, Threads = 1, Device = "cpu", ShardKey = "shard-0", Parameters = p, Updater = u,
        };
        var bytes = WorkerPayload.Encode(req);
        Report("WorkerPayload.Encode(request)", Time(() => WorkerPayload.Encode(req), reps));
        Report("WorkerPayload.DecodeRequest", Time(() => WorkerPayload.DecodeRequest(bytes), reps));
        Report("Replica.SetParameters", Time(() => replica.SetParameters(p), reps));
        Report("Replica.SetUpdater", Time(() => replica.SetUpdater(u), reps));
        Report("Replica.GetParameters", Time(() => replica.GetParameters(), reps));
        Report("Replica.GetUpdater", Time(() => replica.GetUpdater(), reps));
        opt.Dispose();
        raw.Dispose();
        return result;
    }
}
