using DuckDB.NET.Data;
using SparkAnomaly.Data;
using SparkAnomaly.Scoring;
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
