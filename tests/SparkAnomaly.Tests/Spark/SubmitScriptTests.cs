using System.Diagnostics;

namespace SparkAnomaly.Tests.Spark;

/// <summary>
/// submit.sh in --dry-run mode against a fake SPARK_HOME, jar and worker tarball in a temporary folder:
/// the printed spark-submit invocation for each mode, the errors, and the script's own hygiene.
/// </summary>
public sealed class SubmitScriptTests : IDisposable
{
    private const string Jar = "microsoft-spark-3-5_2.12-2.3.1.jar";
    private const string WorkerTarball = "Microsoft.Spark.Worker.net8.0.linux-x64-2.3.1.tar.gz";

    private readonly string _temp = Directory.CreateTempSubdirectory("sparkanomaly-submit-").FullName;
    private readonly string _sparkHome;
    private readonly string _publish;
    private readonly string _tarball;

    public SubmitScriptTests()
    {
        _sparkHome = Path.Combine(_temp, "spark");
        Directory.CreateDirectory(Path.Combine(_sparkHome, "bin"));
        string submit = Path.Combine(_sparkHome, "bin", "spark-submit");
        File.WriteAllText(submit, "#!/bin/sh\necho fake spark-submit must not run >&2\nexit 97\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(submit, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        _publish = Path.Combine(_temp, "publish");
        Directory.CreateDirectory(_publish);
        File.WriteAllText(Path.Combine(_publish, Jar), "");
        _tarball = Path.Combine(_temp, WorkerTarball);
        File.WriteAllText(_tarball, "");
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void DryRun_Local_RunsDotnetRunnerWithLocalWorkerAndUdfs()
    {
        var run = DryRun("--mode", "local[4]");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("dotnet publish spark-jobs/SparkAnomaly.Spark -c Release -r linux-x64", run.Stdout);
        string submit = SubmitLine(run);
        Assert.Contains("--class org.apache.spark.deploy.dotnet.DotnetRunner", submit);
        Assert.Contains("--master 'local[4]'", submit);
        Assert.Contains($"DOTNET_WORKER_DIR={_temp}/worker/Microsoft.Spark.Worker-2.3.1", submit);
        Assert.Contains($"DOTNET_ASSEMBLY_SEARCH_PATHS={_publish}", submit);
        Assert.Contains("--properties-file conf/spark-defaults.conf", submit);
        Assert.Contains("--conf spark.speculation=false", submit);
        Assert.DoesNotContain("--archives", submit);
        Assert.EndsWith($"{_publish}/{Jar} {_publish}/SparkAnomaly.Spark train --data in.parquet --out out", submit);
    }

    [Fact]
    public void DryRun_Standalone_UsesMasterAndWorkerDirOnEveryNode()
    {
        var run = DryRun("--mode", "standalone", "--master", "spark://head:7077", "--worker-dir", "/opt/Microsoft.Spark.Worker-2.3.1");

        Assert.Equal(0, run.ExitCode);
        string submit = SubmitLine(run);
        Assert.Contains("--master spark://head:7077 --deploy-mode client", submit);
        Assert.Contains("env DOTNET_WORKER_DIR=/opt/Microsoft.Spark.Worker-2.3.1", submit);
        Assert.Contains("--conf spark.executorEnv.DOTNET_WORKER_DIR=/opt/Microsoft.Spark.Worker-2.3.1", submit);
        Assert.Contains($"--conf spark.executorEnv.DOTNET_ASSEMBLY_SEARCH_PATHS={_publish}", submit);
        Assert.Contains($"{_publish}/{Jar} {_publish}/SparkAnomaly.Spark train", submit);
    }

    [Fact]
    public void DryRun_YarnClient_ShipsArchivesAndSetsEnvironmentOnDriverAndExecutors()
    {
        var run = DryRun("--mode", "yarn-client");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains($"tar -czf {_temp}/SparkAnomaly.Spark.tar.gz -C {_publish} .", run.Stdout);
        string submit = SubmitLine(run);
        Assert.StartsWith("env DOTNET_WORKER_DIR=./worker/Microsoft.Spark.Worker-2.3.1 DOTNET_ASSEMBLY_SEARCH_PATHS=./udfs ", submit);
        Assert.Contains("--master yarn --deploy-mode client", submit);
        Assert.Contains($"--archives {_tarball}#worker,{_temp}/SparkAnomaly.Spark.tar.gz#udfs", submit);
        Assert.Contains("--conf spark.executorEnv.DOTNET_WORKER_DIR=./worker/Microsoft.Spark.Worker-2.3.1", submit);
        Assert.Contains("--conf spark.executorEnv.DOTNET_ASSEMBLY_SEARCH_PATHS=./udfs", submit);
        Assert.DoesNotContain("appMasterEnv", submit);
        Assert.Contains($"{_publish}/{Jar} {_publish}/SparkAnomaly.Spark train", submit);
    }

    [Fact]
    public void DryRun_YarnCluster_SetsAppMasterEnvAndRunsTheShippedApp()
    {
        var run = DryRun("--mode", "yarn-cluster");

        Assert.Equal(0, run.ExitCode);
        string submit = SubmitLine(run);
        Assert.DoesNotContain("env DOTNET", submit);
        Assert.Contains("--master yarn --deploy-mode cluster", submit);
        Assert.Contains($"--archives {_tarball}#worker,{_temp}/SparkAnomaly.Spark.tar.gz#udfs", submit);
        Assert.Contains("--conf spark.yarn.appMasterEnv.DOTNET_WORKER_DIR=./worker/Microsoft.Spark.Worker-2.3.1", submit);
        Assert.Contains("--conf spark.yarn.appMasterEnv.DOTNET_ASSEMBLY_SEARCH_PATHS=./udfs", submit);
        Assert.Contains("--conf spark.executorEnv.DOTNET_ASSEMBLY_SEARCH_PATHS=./udfs", submit);
        Assert.EndsWith($"{_publish}/{Jar} ./udfs/SparkAnomaly.Spark train --data in.parquet --out out", submit);
    }

    [Fact]
    public void DryRun_GpusAndPatchCheck_AddResourceSettingsAndCudaBackend()
    {
        var run = DryRun("--mode", "yarn-cluster", "--gpus", "2", "--ignore-spark-patch-check");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("-p:TorchBackend=cuda", run.Stdout);
        string submit = SubmitLine(run);
        Assert.Contains("--conf spark.executor.resource.gpu.amount=2", submit);
        Assert.Contains("--conf spark.task.resource.gpu.amount=1", submit);
        Assert.Contains($"--conf spark.executor.resource.gpu.discoveryScript={_sparkHome}/examples/src/main/scripts/getGpusResources.sh", submit);
        Assert.Contains("--conf spark.dotnet.ignoreSparkPatchVersionCheck=true", submit);
    }

    [Fact]
    public void DryRun_MissingSparkHome_PrintsCommandsWithANote()
    {
        var run = Run(null, "--mode", "yarn-client", "--dry-run", "--publish-dir", _publish, "--worker-tarball", _tarball, "--", "score", "--data", "x");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("SPARK_HOME is not set", run.Stderr);
        Assert.Contains("$SPARK_HOME/bin/spark-submit", SubmitLine(run));
    }

    [Theory]
    [InlineData("SPARK_HOME is not set")]
    public void RealRun_MissingSparkHome_FailsWithOneLine(string expected)
    {
        var run = Run(null, "--mode", "yarn-client", "--publish-dir", _publish, "--worker-tarball", _tarball, "--", "train");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(expected, run.Stderr);
        Assert.Single(run.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public void RealRun_MissingWorkerTarball_FailsBeforeRunningAnything()
    {
        var run = Run(_sparkHome, "--mode", "yarn-cluster", "--publish-dir", _publish, "--worker-tarball", Path.Combine(_temp, "nope.tar.gz"), "--", "train");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("worker tarball", run.Stderr);
        Assert.DoesNotContain("dotnet publish", run.Stdout);
    }

    [Fact]
    public void DryRun_MissingJar_PrintsANote()
    {
        File.Delete(Path.Combine(_publish, Jar));

        var run = DryRun("--mode", "local[2]");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains($"{Jar} not found", run.Stderr);
    }

    [Theory]
    [InlineData("standalone", "--master spark://HOST:PORT")]
    [InlineData("mesos", "unknown mode")]
    public void BadMode_FailsWithUsageHint(string mode, string expected)
    {
        var run = Run(_sparkHome, "--mode", mode, "--dry-run", "--", "train");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(expected, run.Stderr);
    }

    [Fact]
    public void Help_PrintsUsage()
    {
        var run = Run(_sparkHome, "--help");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("yarn-cluster", run.Stdout);
        Assert.Contains("--dry-run", run.Stdout);
    }

    [Fact]
    public void Syntax_BashN_Clean()
    {
        var run = Exec("bash", null, "-n", ScriptPath);

        Assert.True(run.ExitCode == 0, run.Stderr);
    }

    [ShellcheckFact]
    public void Shellcheck_Clean()
    {
        var run = Exec("shellcheck", null, ScriptPath);

        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
    }

    private static string ScriptPath => Path.Combine(RepoRoot.Path, "submit.sh");

    private Result DryRun(params string[] modeArgs) =>
        Run(_sparkHome, modeArgs.Concat(new[] { "--dry-run", "--publish-dir", _publish, "--worker-tarball", _tarball, "--", "train", "--data", "in.parquet", "--out", "out" }).ToArray());

    private Result Run(string? sparkHome, params string[] args) =>
        Exec("bash", sparkHome, new[] { ScriptPath }.Concat(args).ToArray());

    private static string SubmitLine(Result run) =>
        run.Stdout.Split('\n').SingleOrDefault(l => l.Contains("/bin/spark-submit ", StringComparison.Ordinal))
        ?? throw new Xunit.Sdk.XunitException("no spark-submit line in:\n" + run.Stdout + run.Stderr);

    private static Result Exec(string file, string? sparkHome, params string[] args)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        foreach (var name in new[] { "SPARK_HOME", "SPARKANOMALY_SPARK_JAR", "SPARKANOMALY_WORKER_TARBALL", "DOTNET_WORKER_DIR" })
        {
            start.Environment.Remove(name);
        }
        if (sparkHome is not null)
        {
            start.Environment["SPARK_HOME"] = sparkHome;
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(30_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 30 s");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    private sealed record Result(int ExitCode, string Stdout, string Stderr);
}

/// <summary>Runs only where shellcheck is installed (Debian: apt-get install shellcheck); skips with that reason elsewhere.</summary>
public sealed class ShellcheckFactAttribute : FactAttribute
{
    public ShellcheckFactAttribute()
    {
        bool found = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, "shellcheck")));
        if (!found)
        {
            Skip = "shellcheck is not on PATH; install it (apt-get install shellcheck) to lint submit.sh";
        }
    }
}

/// <summary>The repository root: the nearest folder above the test binaries that holds SparkAnomaly.sln.</summary>
internal static class RepoRoot
{
    public static string Path => TestPaths.RepoRoot;
}
