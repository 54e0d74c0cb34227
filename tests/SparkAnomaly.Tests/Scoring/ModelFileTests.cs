using DuckDB.NET.Data;
using SparkAnomaly.Data;
using SparkAnomaly.Scoring;
using SparkAnomaly.Tests.Reliability;
using SparkAnomaly.Tests.Training;

namespace SparkAnomaly.Tests.Scoring;

/// <summary>The files users depend on: model.parquet and scores.parquet, read back by us and by DuckDB.</summary>
public sealed class ModelFileTests
{
    private static readonly Lazy<(TrainedModel Model, SeriesSet Data)> s_trained = new(() =>
    {
        var data = TrainingFixtures.SmallData();
        var run = Detector.Train(data, TrainingFixtures.Tiny(rounds: 3) with { CheckpointEvery = 0 });
        return (run.Model, data);
    });

    [Fact]
    public void SaveLoad_ScoresAreIdentical()
    {
        var (model, data) = s_trained.Value;
        using var dir = new TempDir();
        ModelFile.Save(model, dir.File("model.parquet"));

        var loaded = ModelFile.Load(dir.File("model.parquet"));

        Assert.Equal(model.Parameters, loaded.Parameters);
        Assert.Equal(model.ModelId, loaded.ModelId);
        var a = Detector.Score(model, data, out _);
        var b = Detector.Score(loaded, data, out _);
        Assert.Equal(a.SelectMany(s => s.Score), b.SelectMany(s => s.Score));
        Assert.Equal(a.SelectMany(s => s.IsAnomaly), b.SelectMany(s => s.IsAnomaly));
    }

    [Fact]
    public void ModelParquet_ReadableByDuckDb_OneRowPerParameter()
    {
        var (model, _) = s_trained.Value;
        using var dir = new TempDir();
        string path = dir.File("model.parquet");
        ModelFile.Save(model, path);

        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT count(*)::BIGINT, count(DISTINCT tensor)::BIGINT, sum(value::DOUBLE) FROM read_parquet('{path}')";
        using var r = cmd.ExecuteReader();
        Assert.True(r.Read());
        Assert.Equal(model.Parameters.Length, Convert.ToInt64(r.GetValue(0)));
        Assert.Equal(14, Convert.ToInt64(r.GetValue(1)));
        Assert.Equal(model.Parameters.Sum(v => (double)v), r.GetDouble(2), 3);

        cmd.CommandText = $"SELECT decode(value) FROM parquet_kv_metadata('{path}') WHERE decode(key) = 'sparkanomaly.model'";
        string modelJson = (string)cmd.ExecuteScalar()!;
        Assert.Contains("\"Channels\":8", modelJson.Replace(" ", ""));
    }

    [Fact]
    public void ParquetBytes_AreTheModelFile_AsTheSparkJobStoresIt()
    {
        // The Spark job cannot write a path on HDFS/S3 through the library, so it stores these bytes; they must be
        // the model.parquet every reader knows, not the workers' broadcast form.
        var (model, _) = s_trained.Value;
        using var dir = new TempDir();
        byte[] bytes = ModelFile.ToParquetBytes(model);
        File.WriteAllBytes(dir.File("model.parquet"), bytes);

        Assert.Equal(model.ModelId, ModelFile.Load(dir.File("model.parquet")).ModelId);
        Assert.Equal(model.ModelId, ModelFile.FromParquetBytes(bytes, "hdfs:///models/run1/model").ModelId);
        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT count(*)::BIGINT FROM read_parquet('{dir.File("model.parquet")}')";
        Assert.Equal(model.Parameters.Length, Convert.ToInt64(cmd.ExecuteScalar()));

        // What Spark train jobs stored before they wrote the Parquet file still scores; other bytes are refused by name.
        Assert.Equal(model.ModelId, ModelFile.FromParquetBytes(model.ToBytes(), "hdfs:///models/old/model").ModelId);
        var e = Assert.Throws<SparkAnomalyException>(() => ModelFile.FromParquetBytes(bytes[..^40], "hdfs:///models/run1/model"));
        Assert.Contains("hdfs:///models/run1/model", e.Message);
    }

    [Fact]
    public void ScoresParquet_RecordsTheAlarmFilter_ThatMadeIsAnomalyDifferFromScoreAboveThreshold()
    {
        var (model, data) = s_trained.Value;
        using var dir = new TempDir();
        var filter = new AlarmFilter(MinDuration: 5, MergeGap: 3);
        string plain = dir.File("plain.parquet"), filtered = dir.File("filtered.parquet");
        ScoresFile.Save(plain, model, Detector.Score(model, data, out _), data.ChannelNames, data.TimestampKind);
        ScoresFile.Save(filtered, model, Detector.Score(model, data, out _, filter), data.ChannelNames, data.TimestampKind, filter);

        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        string Filter(string path)
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"SELECT decode(value) FROM parquet_kv_metadata('{path}') WHERE decode(key) = '{ScoresFile.AlarmFilterKey}'";
            return (string)cmd.ExecuteScalar()!;
        }

        Assert.Equal("none", Filter(plain));
        Assert.Equal("persistence=1,merge-gap=3,min-duration=5", Filter(filtered));
    }

    [Fact]
    public void ScoresParquet_ReadableByDuckDb_WithTheDocumentedSchema()
    {
        var (model, data) = s_trained.Value;
        using var dir = new TempDir();
        string path = dir.File("scores.parquet");
        var scored = Detector.Score(model, data, out _);
        ScoresFile.Save(path, model, scored, data.ChannelNames, data.TimestampKind);

        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('{path}'))";
        var columns = new Dictionary<string, string>();
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                columns[r.GetString(0)] = r.GetString(1);
            }
        }
        Assert.Equal("VARCHAR", columns["series_id"]);
        Assert.Equal("BIGINT", columns["timestamp"]);
        Assert.Equal("DOUBLE", columns["score"]);
        Assert.Equal("DOUBLE", columns["threshold"]);
        Assert.Equal("BOOLEAN", columns["is_anomaly"]);
        Assert.Equal("INTEGER", columns["label"]);
        Assert.Equal("DOUBLE", columns["contrib_sensor_1"]);

        cmd.CommandText = $"SELECT count(*)::BIGINT, sum(CASE WHEN is_anomaly THEN 1 ELSE 0 END)::BIGINT, max(abs(score - ({string.Join(" + ", data.ChannelNames.Select(c => "contrib_" + c))}))) FROM read_parquet('{path}')";
        using var q = cmd.ExecuteReader();
        Assert.True(q.Read());
        Assert.Equal(data.TotalRows, Convert.ToInt64(q.GetValue(0)));
        Assert.Equal(scored.Sum(s => s.IsAnomaly.Count(f => f)), Convert.ToInt64(q.GetValue(1)));
        Assert.True(q.GetDouble(2) < 1e-9, "score is the sum of its channel contributions");
    }

    [Fact]
    public void Load_CorruptedValue_RefusedByChecksum()
    {
        var (model, _) = s_trained.Value;
        using var dir = new TempDir();
        var tampered = new TrainedModel(model.Model, model.Normaliser, model.Parameters.ToArray(), model.Threshold, model.Provenance);
        ModelFile.Save(tampered, dir.File("model.parquet"));
        // Re-save a copy whose values differ but whose metadata checksum is the original one.
        var bytes = File.ReadAllBytes(dir.File("model.parquet"));
        var other = new TrainedModel(model.Model, model.Normaliser, model.Parameters.Select(v => v + 1f).ToArray(), model.Threshold, model.Provenance);
        ModelFile.Save(other, dir.File("other.parquet"));
        string Checksum(string file) => System.Text.RegularExpressions.Regex.Match(System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(file)), "sparkanomaly\\.checksum.{0,8}?([0-9a-f]{16})").Groups[1].Value;
        string good = Checksum(dir.File("model.parquet")), bad = Checksum(dir.File("other.parquet"));
        Assert.Equal(16, good.Length);
        var forged = System.Text.Encoding.Latin1.GetBytes(System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(dir.File("other.parquet"))).Replace(bad, good));
        File.WriteAllBytes(dir.File("forged.parquet"), forged);

        var e = Assert.Throws<SparkAnomalyException>(() => ModelFile.Load(dir.File("forged.parquet")));
        Assert.Contains("checksum", e.Message);
        Assert.NotEmpty(bytes);
    }

    /// <summary>
    /// <paramref name="file"/> with one bit (<paramref name="mask"/>) flipped in the metadata text after <paramref name="marker"/>
    /// (which must occur once): in a letter right after it, else in the last digit of the first number after it.
    /// </summary>
    private static byte[] FlipAfter(byte[] file, string marker, byte mask)
    {
        var m = System.Text.Encoding.UTF8.GetBytes(marker);
        int at = file.AsSpan().IndexOf(m);
        Assert.True(at >= 0 && file.AsSpan(at + 1).IndexOf(m) < 0, $"'{marker}' occurs once in the model file");
        int i = at + m.Length;
        if (!char.IsAsciiLetter((char)file[i]))
        {
            while (!char.IsAsciiDigit((char)file[i]))
            {
                i++;
            }
            while (char.IsAsciiDigit((char)file[i + 1]))
            {
                i++;
            }
        }
        var flipped = file.ToArray();
        flipped[i] ^= mask;
        return flipped;
    }

    // One bit in each metadata entry, each change one that every check behind the checksum accepts (see the older-file half).
    [Theory]
    [InlineData("\"Value\":", 0x01)]              // threshold value: last integer digit ± 1
    [InlineData("\"ScoreRule\":\"", 0x20)]         // CoveringMean → coveringMean (rule names are matched ignoring case)
    [InlineData("\"Scale\":[", 0x01)]             // first channel's normaliser scale 0.x → 1.x
    [InlineData("\"Channels\":[\"", 0x20)]         // first channel name sensor_1 → Sensor_1
    [InlineData("\"WindowLength\":", 0x01)]       // model: window 16 → 17 (no parameter depends on it)
    [InlineData("\"Seed\":", 0x01)]               // provenance, shown by inspect
    public void Load_OneBitFlippedInMetadata_RefusedByMetadataChecksum_WhichAnOlderFileWouldNotCatch(string marker, byte mask)
    {
        using var dir = new TempDir();
        string path = dir.File("flipped.parquet");
        File.WriteAllBytes(path, FlipAfter(UntrustedModelFiles.GoodModelBytes, marker, mask));

        var e = Assert.Throws<SparkAnomalyException>(() => ModelFile.Load(path));

        Assert.Contains("'" + path + "' fails its metadata checksum", e.Message);
        Assert.DoesNotContain('\n', e.Message);

        // The same flip in a file without the metadata checksum (as builds before it wrote) loads as a different model:
        // the parameter checksum alone cannot see it.
        string older = UntrustedModelFiles.Rewrite(dir.File("older.parquet"), "metadata_checksum", null);
        string olderFlipped = dir.File("older-flipped.parquet");
        File.WriteAllBytes(olderFlipped, FlipAfter(File.ReadAllBytes(older), marker, mask));
        var accepted = ModelFile.Load(olderFlipped, out bool verified);
        Assert.False(verified);
        Assert.NotEqual(ModelFile.Load(older).MetadataJson(), accepted.MetadataJson());
    }

    [Fact]
    public void Load_MetadataChecksumOverTheStoredStrings_ValuesSwappedBetweenEntriesRefused()
    {
        // Two entries' texts exchanged keep the same bytes in the same file, only under other keys.
        var (meta, _, _, _, _) = UntrustedModelFiles.Parts();
        var swapped = new Dictionary<string, string>(meta)
        {
            ["sparkanomaly.model"] = meta["sparkanomaly.provenance"],
            ["sparkanomaly.provenance"] = meta["sparkanomaly.model"],
        };
        Assert.Equal(meta["sparkanomaly.metadata_checksum"], ModelFile.MetadataChecksum(meta));
        Assert.NotEqual(ModelFile.MetadataChecksum(meta), ModelFile.MetadataChecksum(swapped));
        var moved = new Dictionary<string, string>(meta)
        {
            ["sparkanomaly.format_version"] = meta["sparkanomaly.format_version"] + meta["sparkanomaly.model"][..1],
            ["sparkanomaly.model"] = meta["sparkanomaly.model"][1..],
        };
        Assert.NotEqual(ModelFile.MetadataChecksum(meta), ModelFile.MetadataChecksum(moved));
    }

    [Fact]
    public async Task Load_OlderFileWithoutMetadataChecksum_LoadsAndScoresAsBefore_SameModelId()
    {
        using var dir = new TempDir();
        string current = dir.File("current.parquet");
        File.WriteAllBytes(current, UntrustedModelFiles.GoodModelBytes);
        // What builds before the metadata checksum wrote: the same entries, no metadata_checksum key.
        string older = UntrustedModelFiles.Rewrite(dir.File("older.parquet"), "metadata_checksum", null);
        await using (var reader = await Parquet.ParquetReader.CreateAsync(older))
        {
            Assert.DoesNotContain("sparkanomaly.metadata_checksum", reader.CustomMetadata!.Keys);
        }

        var a = ModelFile.Load(current, out bool currentVerified);
        var b = ModelFile.Load(older, out bool olderVerified);

        Assert.True(currentVerified);
        Assert.False(olderVerified);
        Assert.Equal(a.Parameters, b.Parameters);
        Assert.Equal(a.ModelId, b.ModelId);
        Assert.Equal(a.MetadataJson(), b.MetadataJson());
        var data = TrainingFixtures.SmallData(healthy: 2, length: 120);
        Assert.Equal(Detector.Score(a, data, out _).SelectMany(s => s.Score), Detector.Score(b, data, out _).SelectMany(s => s.Score));
    }

    [Fact]
    public async Task Save_WritesMetadataChecksum_WithoutChangingFormatVersionOrModelId()
    {
        var (model, _) = s_trained.Value;
        using var dir = new TempDir();
        string path = dir.File("model.parquet");
        ModelFile.Save(model, path);

        await using var reader = await Parquet.ParquetReader.CreateAsync(path);
        var meta = reader.CustomMetadata!;
        Assert.Matches("^[0-9a-f]{16}$", meta["sparkanomaly.metadata_checksum"]);
        Assert.Equal(ModelFile.MetadataChecksum(new Dictionary<string, string>(meta)), meta["sparkanomaly.metadata_checksum"]);
        // Older builds ignore the extra key, so the version stays the oldest that can hold the model.
        Assert.Equal(ModelFile.FormatVersion, meta["sparkanomaly.format_version"]);
        Assert.Equal(model.ModelId, ModelFile.Load(path).ModelId);
    }

    [Theory]
    [InlineData("not parquet at all")]
    [InlineData("PAR1")]
    public void Load_NotAModel_OneLineError(string content)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("model.parquet"), content);
        var e = Assert.Throws<SparkAnomalyException>(() => ModelFile.Load(dir.File("model.parquet")));
        Assert.Contains("model.parquet", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
