using System.Text.Json;
using DuckDB.NET.Data;
using SparkAnomaly.Evaluation;
using SparkAnomaly.Scoring;
using SparkAnomaly.Tests.Cli;

namespace SparkAnomaly.Tests.Skab;

/// <summary>
/// <c>evaluate</c> and <c>inspect</c> on the directory a Spark score job writes (<c>series_id=&lt;escaped id&gt;/part-*.parquet</c>,
/// rows in no order), built here by DuckDB, an independent writer, from a scores file written by the local writer.
/// </summary>
public sealed class ScoresDirectoryTests
{
    /// <summary>Ids with characters that partition paths escape (DuckDB: space, '/', '%', '=').</summary>
    private static readonly string[] s_ids = ["s 0", "a/b", "p%q=r"];

    private static void Duck(string sql)
    {
        using var conn = new DuckDBConnection("Data Source=:memory:");
        conn.Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static string Quote(string path) => "'" + path.Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>
    /// The single file's rows as a Spark job leaves them: partitioned by series_id, each series split over two part
    /// files (even and odd timestamps), rows shuffled, with the _SUCCESS marker and checksum files next to them.
    /// </summary>
    private static string SparkLike(TempDir dir, string single, string columns = "*", string step = "\"timestamp\"")
    {
        string target = dir.File("spark-scores.parquet");
        foreach (var (parity, more) in new[] { (0, ""), (1, ", APPEND") })
        {
            Duck($"""COPY (SELECT {columns} FROM {Quote(single)} WHERE {step} % 2 = {parity} ORDER BY random()) TO {Quote(target)} (FORMAT PARQUET, PARTITION_BY (series_id){more})""");
        }
        File.WriteAllText(Path.Combine(target, "_SUCCESS"), "");
        // Not Parquet: read, either would fail the test.
        File.WriteAllText(Path.Combine(target, "._SUCCESS.crc"), "crc");
        var part = Directory.EnumerateFiles(target, "*.parquet", SearchOption.AllDirectories).First();
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(part)!, "." + Path.GetFileName(part) + ".crc"), "crc");
        return target;
    }

    [Fact]
    public void Directory_ReadsAsTheSingleFile_SeriesInIdOrder_RowsInTimeOrder()
    {
        using var dir = new TempDir();
        string single = ScoresFixture.Write(dir.File("scores.parquet"), s_ids);
        string spark = SparkLike(dir, single);
        // What DuckDB writes (Spark escapes '/', '%' and '=' alike; it leaves a space as it is, which reads the same).
        Assert.True(Directory.Exists(Path.Combine(spark, "series_id=a%2Fb")), string.Join(", ", Directory.EnumerateDirectories(spark)));
        Assert.True(Directory.Exists(Path.Combine(spark, "series_id=p%25q%3Dr")));
        Assert.Equal(2, Directory.EnumerateFiles(Path.Combine(spark, "series_id=a%2Fb"), "*.parquet").Count());
        Assert.True(SomePartFileOutOfTimeOrder(spark), "the fixture should leave rows unsorted, or the sort is not tested");

        var file = ScoresReader.Read(single);
        var data = ScoresReader.Read(spark);

        Assert.Equal(spark, data.Source);
        Assert.Equal(new[] { "a/b", "p%q=r", "s 0" }, data.Series.Select(s => s.Id));
        Assert.Equal(file.Channels, data.Channels);
        Assert.False(data.DateTimeTimestamps);
        // DuckDB keeps no footer metadata, as Spark writes none: both come from the columns.
        Assert.Equal("percentile:99", data.ThresholdMethod);
        Assert.Equal(ScoresFixture.Model().ModelId, data.ModelId);
        foreach (var s in data.Series)
        {
            var f = file.Series.Single(x => x.Id == s.Id);
            Assert.Equal(f.Timestamps, s.Timestamps);
            Assert.Equal(f.Score, s.Score);
            Assert.Equal(f.Threshold, s.Threshold);
            Assert.Equal(f.IsAnomaly, s.IsAnomaly);
            Assert.Equal(f.Labels, s.Labels);
            Assert.Equal(f.Splits, s.Splits);
            Assert.Equal(f.Contributions, s.Contributions);
        }

        var expected = ScoresEvaluation.Evaluate(file);
        var actual = ScoresEvaluation.Evaluate(data);
        // Per-event times follow series order, which differs (data order there, id order here).
        var none = Array.Empty<int?>();
        Assert.Equal(expected with { TimesToDetect = none }, actual with { TimesToDetect = none });
        Assert.Equal(expected.TimesToDetect.Order(), actual.TimesToDetect.Order());
        Assert.NotNull(actual.RocAuc);
    }

    /// <summary>True when some part file's rows are not in timestamp order (read back by DuckDB on one thread, in file order).</summary>
    private static bool SomePartFileOutOfTimeOrder(string spark)
    {
        using var conn = new DuckDBConnection("Data Source=:memory:");
        conn.Open();
        using var cmd = conn.CreateCommand();
        foreach (var part in Directory.EnumerateFiles(spark, "*.parquet", SearchOption.AllDirectories))
        {
            cmd.CommandText = $"""SET threads = 1; SELECT "timestamp" FROM read_parquet({Quote(part)})""";
            using var r = cmd.ExecuteReader();
            var ts = new List<long>();
            while (r.Read())
            {
                ts.Add(r.GetInt64(0));
            }
            if (!ts.SequenceEqual(ts.Order()))
            {
                return true;
            }
        }
        return false;
    }

    [Fact]
    public void Directory_DateTimeTimestamps_ReadAsTheSingleFile_RepeatIsNamedInIso()
    {
        using var dir = new TempDir();
        string single = dir.File("scores.parquet");
        var (set, scored) = ScoresFixture.Build(ids: s_ids);
        // The fixture's steps taken as Unix microseconds: a UTC timestamp column, as Spark writes for date-time input.
        ScoresFile.Save(single, ScoresFixture.Model(), scored, set.ChannelNames, SparkAnomaly.Data.TimestampKind.DateTime);
        string spark = SparkLike(dir, single, step: "epoch_us(\"timestamp\")");

        var file = ScoresReader.Read(single);
        var data = ScoresReader.Read(spark);

        Assert.True(data.DateTimeTimestamps);
        foreach (var s in data.Series)
        {
            Assert.Equal(file.Series.Single(x => x.Id == s.Id).Timestamps, s.Timestamps);
        }
        string folder = Path.Combine(spark, "series_id=s%200");
        // DuckDB's first write (even steps, the earliest 1000 µs) is data_0.parquet; the second has a random name.
        File.Copy(Path.Combine(folder, "data_0.parquet"), Path.Combine(folder, "part-again.parquet"));
        var e = Assert.Throws<SparkAnomalyException>(() => ScoresReader.Read(spark));
        Assert.Contains("series 's 0' has two rows at timestamp 1970-01-01T00:00:00.001Z", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EvaluateCommand_OnTheDirectory_PrintsTheSingleFilesNumbers()
    {
        using var dir = new TempDir();
        string single = ScoresFixture.Write(dir.File("scores.parquet"), s_ids);
        string spark = SparkLike(dir, single);

        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", spark, "--json");
        var (fileCode, fileOut, _) = CliTests.Run("evaluate", "--scores", single, "--json");

        Assert.True(code == 0, stderr);
        Assert.Equal(0, fileCode);
        using var got = JsonDocument.Parse(stdout);
        using var want = JsonDocument.Parse(fileOut);
        Assert.Equal(spark, got.RootElement.GetProperty("scores").GetString());
        foreach (var key in new[] { "series", "pointWise", "pointAdjusted", "eventWise", "rocAuc", "prAuc" })
        {
            Assert.Equal(want.RootElement.GetProperty(key).GetRawText(), got.RootElement.GetProperty(key).GetRawText());
        }
    }

    [Fact]
    public void InspectCommand_OnTheDirectory_SummarisesItAsAScoresFile()
    {
        using var dir = new TempDir();
        string single = ScoresFixture.Write(dir.File("scores.parquet"), s_ids);
        string spark = SparkLike(dir, single);

        var (code, stdout, stderr) = CliTests.Run("inspect", spark, "--json");
        var fromFile = ScoresSummary.Read(single);

        Assert.True(code == 0, stderr);
        using var got = JsonDocument.Parse(stdout);
        var root = got.RootElement;
        Assert.Equal("scores", root.GetProperty("kind").GetString());
        Assert.Equal(ScoresFixture.Model().ModelId, root.GetProperty("modelId").GetString());
        Assert.Equal("percentile:99", root.GetProperty("thresholdMethod").GetString());
        Assert.Equal(ScoresFixture.Threshold, root.GetProperty("threshold").GetDouble());
        Assert.Equal(fromFile.Rows, root.GetProperty("rows").GetInt64());
        Assert.Equal(fromFile.Flagged, root.GetProperty("flagged").GetInt64());
        Assert.True(root.GetProperty("hasLabels").GetBoolean());
        var fromDir = ScoresSummary.Read(spark);
        Assert.Equal(fromFile.Series.OrderBy(s => s.SeriesId, StringComparer.Ordinal), fromDir.Series);
    }

    [Fact]
    public void Directory_OldContributionsArray_ReadsAsChannel1ToN()
    {
        using var dir = new TempDir();
        string single = ScoresFixture.Write(dir.File("scores.parquet"), s_ids);
        string spark = SparkLike(dir, single, """series_id, "timestamp", score, threshold, is_anomaly, [contrib_a, contrib_b] AS contributions""");

        var data = ScoresReader.Read(spark);
        var file = ScoresReader.Read(single);

        Assert.Equal(new[] { "channel_1", "channel_2" }, data.Channels);
        Assert.Null(data.ThresholdMethod);
        foreach (var s in data.Series)
        {
            Assert.Equal(file.Series.Single(x => x.Id == s.Id).Contributions, s.Contributions);
        }
    }

    [Fact]
    public void Directory_ContributionsArrayOfUnequalLengths_IsRefusedSayingReScore()
    {
        using var dir = new TempDir();
        string single = ScoresFixture.Write(dir.File("scores.parquet"), s_ids);
        string spark = SparkLike(dir, single,
            """series_id, "timestamp", score, threshold, is_anomaly, CASE WHEN "timestamp" = 1010 THEN [contrib_a] ELSE [contrib_a, contrib_b] END AS contributions""");

        var e = Assert.Throws<SparkAnomalyException>(() => ScoresReader.Read(spark));

        Assert.Contains("'contributions'", e.Message, StringComparison.Ordinal);
        Assert.Contains("Re-score with the current Spark score job", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Directory_RepeatedTimestamp_IsRefusedNamingSeriesTimestampAndFiles()
    {
        using var dir = new TempDir();
        string single = ScoresFixture.Write(dir.File("scores.parquet"), s_ids);
        string spark = SparkLike(dir, single);
        string folder = Path.Combine(spark, "series_id=a%2Fb");
        string part = Path.Combine(folder, "data_0.parquet"); // DuckDB's first write: the even steps, from 1000
        // An earlier run's part file left next to this run's, as happens when one job's output is copied over another's.
        string copy = Path.Combine(folder, "part-earlier-run.parquet");
        File.Copy(part, copy);

        var e = Assert.Throws<SparkAnomalyException>(() => ScoresReader.Read(spark));

        Assert.Contains("series 'a/b' has two rows at timestamp 1000 (", e.Message, StringComparison.Ordinal);
        Assert.Contains(part, e.Message, StringComparison.Ordinal);
        Assert.Contains(copy, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        var (code, _, stderr) = CliTests.Run("evaluate", "--scores", spark);
        Assert.Equal(1, code);
        Assert.Contains("has two rows at timestamp", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Directory_PartFilesWithDifferentContributionColumns_AreRefusedNamingBoth()
    {
        using var dir = new TempDir();
        string single = ScoresFixture.Write(dir.File("scores.parquet"), s_ids);
        string spark = SparkLike(dir, single);
        string other = Path.Combine(spark, "series_id=zz", "part-00000.parquet");
        Directory.CreateDirectory(Path.GetDirectoryName(other)!);
        Duck($"""COPY (SELECT * EXCLUDE (series_id, contrib_b) FROM {Quote(single)} WHERE series_id = 's 0') TO {Quote(other)} (FORMAT PARQUET)""");

        var e = Assert.Throws<SparkAnomalyException>(() => ScoresReader.Read(spark));

        Assert.Contains("different contribution columns (contrib_a, contrib_b; contrib_a)", e.Message, StringComparison.Ordinal);
        Assert.Contains(other, e.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(spark, "series_id=a%2Fb"), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Directory_WithoutParquetFiles_IsRefusedClearly_ByEvaluateAndInspect()
    {
        using var dir = new TempDir();
        string spark = dir.File("scores.parquet");
        Directory.CreateDirectory(Path.Combine(spark, "_temporary"));
        File.WriteAllText(Path.Combine(spark, "_SUCCESS"), "");
        File.WriteAllText(Path.Combine(spark, "_temporary", "part-00000.parquet"), "not yet committed");

        var e = Assert.Throws<SparkAnomalyException>(() => ScoresReader.Read(spark));
        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", spark);
        var (inspectCode, _, inspectErr) = CliTests.Run("inspect", spark);

        Assert.Equal($"scores directory '{spark}' has no *.parquet file (names starting with _ or . are ignored). Pass the scores.parquet directory a Spark score job wrote, after it finished, or a scores.parquet file.", e.Message);
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Contains("has no *.parquet file", stderr, StringComparison.Ordinal);
        Assert.Equal(1, inspectCode);
        Assert.Contains("is a directory with no *.parquet file", inspectErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_DirectoryOfOtherParquet_IsRefusedAsNotScores()
    {
        using var dir = new TempDir();
        string data = dir.File("data");
        Duck($"""COPY (SELECT 'u' AS series_id, 1 AS v) TO {Quote(data)} (FORMAT PARQUET, PARTITION_BY (series_id))""");

        var (code, _, stderr) = CliTests.Run("inspect", data);

        Assert.Equal(1, code);
        Assert.Contains("is a directory but not a scores output", stderr, StringComparison.Ordinal);
    }
}
