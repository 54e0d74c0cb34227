using System.Globalization;
using System.Text;
using System.Text.Json;
using SparkAnomaly.Data;

namespace SparkAnomaly.Tests.Cli;

/// <summary>
/// --exclude-channels: leave a few numeric columns out of the channels without listing all the others, on the
/// commands that choose channels from data (train, inspect --data, benchmark skab), refused where the model fixes them.
/// </summary>
public sealed class ExcludeChannelsTests
{
    /// <summary>A raw SKAB-like file: ';'-separated, a datetime column, a channel whose name has spaces, anomaly/changepoint 0/1.</summary>
    private static string SkabLike(TempDir dir, int rows = 60)
    {
        var sb = new StringBuilder("datetime;Accelerometer1RMS;Current;Pressure;Volume Flow RateRMS;anomaly;changepoint\n");
        var start = new DateTime(2020, 3, 9, 10, 14, 33, DateTimeKind.Utc);
        for (int i = 0; i < rows; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{start.AddSeconds(i):yyyy-MM-dd HH:mm:ss};{Math.Sin(i * 0.3):F4};{Math.Cos(i * 0.2):F4};{Math.Sin(i * 0.1):F4};{120 + Math.Cos(i * 0.05):F3};{(i >= 40 ? 1.0 : 0.0):F1};0.0\n");
        }
        string path = dir.File("valve1-1.csv");
        File.WriteAllText(path, sb.ToString());
        return path;
    }

    private static string[] Channels(JsonElement root) => root.GetProperty("channels").EnumerateArray().Select(c => c.GetString()!).ToArray();

    [Fact]
    public void Read_ExcludeChannels_LeavesThemOutOfTheNumericColumns_NameWithSpaces()
    {
        using var dir = new TempDir();
        string path = SkabLike(dir);

        var set = DataReader.Read(path, new ReadOptions { TimeColumn = "datetime", LabelColumn = "anomaly", ExcludeChannels = new[] { "Volume Flow RateRMS", "changepoint" } }, out _);

        Assert.Equal(new[] { "Accelerometer1RMS", "Current", "Pressure" }, set.ChannelNames);
        Assert.True(set.HasLabels);
    }

    [Fact]
    public void InspectData_ExcludeChannels_PlansWithTheOtherChannels()
    {
        using var dir = new TempDir();
        string path = SkabLike(dir);

        var (code, stdout, stderr) = CliTests.Run("inspect", "--data", path, "--time-column", "datetime", "--label-column", "anomaly",
            "--exclude-channels", "Volume Flow RateRMS, changepoint", "--window", "8", "--json");

        Assert.True(code == 0, stderr);
        Assert.Equal(new[] { "Accelerometer1RMS", "Current", "Pressure" }, Channels(JsonDocument.Parse(stdout).RootElement));
    }

    [Fact]
    public void InspectData_UnknownExcludedName_ExitsOneNamingTheChannelsToChooseFrom()
    {
        using var dir = new TempDir();
        string path = SkabLike(dir);

        var (code, stdout, stderr) = CliTests.Run("inspect", "--data", path, "--time-column", "datetime", "--exclude-channels", "Volume Flow Rate");

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("error: ", stderr);
        Assert.Single(stderr.TrimEnd('\n', '\r').Split('\n'));
        Assert.Contains("--exclude-channels names 'Volume Flow Rate', which is not a column", stderr);
        Assert.Contains("'Accelerometer1RMS', 'Current', 'Pressure', 'Volume Flow RateRMS'", stderr);
    }

    [Fact]
    public void InspectData_ExcludingTheTimeColumn_IsRefusedAsNotAChannel()
    {
        using var dir = new TempDir();
        string path = SkabLike(dir);

        var (code, _, stderr) = CliTests.Run("inspect", "--data", path, "--time-column", "datetime", "--exclude-channels", "datetime");

        Assert.Equal(1, code);
        Assert.Contains("'datetime', the time column, which is never a channel", stderr);
    }

    [Fact]
    public void InspectData_ExcludingEveryNumericColumn_SaysNoChannelIsLeft()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("d.csv"), "timestamp,a,b\n0,1,2\n1,2,3\n");

        var (code, _, stderr) = CliTests.Run("inspect", "--data", dir.File("d.csv"), "--exclude-channels", "a,b");

        Assert.Equal(1, code);
        Assert.Contains("no channel is left", stderr);
    }

    [Theory]
    [InlineData("inspect")]
    [InlineData("train")]
    public void WithChannels_IsRefused_SayingWhichToPass(string command)
    {
        using var dir = new TempDir();
        string path = SkabLike(dir);
        var args = new List<string> { command, "--data", path, "--time-column", "datetime", "--channels", "Current", "--exclude-channels", "Pressure" };
        if (command == "train")
        {
            args.AddRange(new[] { "--out", dir.File("run") });
        }

        var (code, _, stderr) = CliTests.Run(args.ToArray());

        Assert.Equal(1, code);
        Assert.Contains("--channels and --exclude-channels both choose the channels; pass one of them", stderr);
        Assert.False(Directory.Exists(dir.File("run")));
    }

    [Fact]
    public void InspectModelFile_WithExcludeChannels_IsRefused()
    {
        using var dir = new TempDir();
        string scores = Skab.ScoresFixture.Write(dir.File("scores.parquet"));

        var (code, _, stderr) = CliTests.Run("inspect", scores, "--exclude-channels", "a");

        Assert.Equal(1, code);
        Assert.Contains("go with --data PATH", stderr);
    }

    [Fact]
    public void Train_ExcludeChannels_ModelHasTheOtherChannels_ScoreRefusesTheOption()
    {
        using var dir = new TempDir();
        string path = SkabLike(dir, rows: 80);
        string run = dir.File("run");

        var (code, _, stderr) = CliTests.Run("train", "--data", path, "--out", run, "--time-column", "datetime", "--label-column", "anomaly",
            "--exclude-channels", "Volume Flow RateRMS,changepoint", "--rounds", "1", "--window", "8", "--batch-size", "8", "--quiet");
        Assert.True(code == 0, stderr);
        var (icode, iout, ierr) = CliTests.Run("inspect", Path.Combine(run, "model.parquet"), "--json");
        Assert.True(icode == 0, ierr);
        var modelChannels = JsonDocument.Parse(iout).RootElement.GetProperty("normaliser").GetProperty("channels").EnumerateArray().Select(c => c.GetProperty("name").GetString()).ToArray();
        Assert.Equal(new[] { "Accelerometer1RMS", "Current", "Pressure" }, modelChannels);

        // Score takes the model's channels: the option is refused, naming them, and nothing is written.
        var (scode, sout, serr) = CliTests.Run("score", "--model", Path.Combine(run, "model.parquet"), "--data", path, "--out", dir.File("scored"),
            "--time-column", "datetime", "--exclude-channels", "Pressure");
        Assert.Equal(1, scode);
        Assert.Equal("", sout);
        Assert.Contains("score uses the channels the model was trained on (Accelerometer1RMS, Current, Pressure)", serr);
        Assert.Contains("pass --exclude-channels to train", serr);
        Assert.False(Directory.Exists(dir.File("scored")));

        // Without it, the model's channels are read and the excluded column is ignored.
        var (okCode, _, okErr) = CliTests.Run("score", "--model", Path.Combine(run, "model.parquet"), "--data", path, "--out", dir.File("scored"),
            "--time-column", "datetime", "--label-column", "anomaly", "--quiet");
        Assert.True(okCode == 0, okErr);
    }

    [Fact]
    public void Help_OffersExcludeChannelsWhereDataChoosesChannels_NotOnScore()
    {
        Assert.Contains("--exclude-channels", CliTests.Run("train", "--help").Out);
        Assert.Contains("--exclude-channels", CliTests.Run("inspect", "--help").Out);
        Assert.Contains("--exclude-channels", CliTests.Run("benchmark", "skab", "--help").Out);
        Assert.DoesNotContain("--exclude-channels", CliTests.Run("score", "--help").Out);
    }

    [Fact]
    public void SplitColumnHelp_SaysWhatTheSplitDoesForEachCommand()
    {
        string train = CliTests.Run("train", "--help").Out;
        string score = CliTests.Run("score", "--help").Out;
        string inspect = CliTests.Run("inspect", "--help").Out;

        Assert.Contains("never trained on", train);
        Assert.DoesNotContain("never trained on", score);
        Assert.DoesNotContain("never trained on", inspect);
        Assert.Contains("Scoring scores every row", score);
        Assert.Contains("evaluation leaves split=train rows out", score);
        Assert.Contains("rows with split=test are left out of them", inspect);
    }

    [Fact]
    public void BenchmarkSkab_WithChannelsAndExcludeChannels_IsRefusedBeforeReadingData()
    {
        using var dir = new TempDir();

        var (code, _, stderr) = CliTests.Run("benchmark", "skab", "--data", dir.Path, "--channels", "Current", "--exclude-channels", "Pressure");

        Assert.Equal(1, code);
        Assert.Contains("--channels and --exclude-channels both choose the channels", stderr);
    }
}
