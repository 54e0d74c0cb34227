using DuckDB.NET.Data;
using SparkAnomaly.Scoring;

namespace SparkAnomaly.Tests.Ux;

/// <summary>The per-series summary of a scores file agrees with DuckDB reading the same file.</summary>
[Collection(UxRunCollection.Name)]
public sealed class ScoresSummaryTests
{
    private readonly UxRunFixture _run;

    public ScoresSummaryTests(UxRunFixture run)
    {
        _run = run;
    }

    [Fact]
    public void Read_AgreesWithDuckDb()
    {
        var summary = ScoresSummary.Read(_run.ScoresFile);

        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"""
            SELECT series_id, count(*), count(*) FILTER (WHERE is_anomaly), min(timestamp) FILTER (WHERE is_anomaly), max(score),
                   count(*) FILTER (WHERE label = 1), count(*) FILTER (WHERE label = 1 AND is_anomaly)
            FROM '{_run.ScoresFile}' GROUP BY series_id ORDER BY series_id
            """;
        using var r = cmd.ExecuteReader();
        var bySeries = summary.Series.ToDictionary(s => s.SeriesId);
        int n = 0;
        while (r.Read())
        {
            var s = bySeries[r.GetString(0)];
            Assert.Equal(r.GetInt64(1), s.Rows);
            Assert.Equal(r.GetInt64(2), s.Flagged);
            Assert.Equal(r.IsDBNull(3) ? null : r.GetInt64(3).ToString(System.Globalization.CultureInfo.InvariantCulture), s.FirstAlarm);
            Assert.Equal(r.GetDouble(4), s.MaxScore);
            Assert.Equal(r.GetInt64(5), s.LabelledAnomalies);
            Assert.Equal(r.GetInt64(6), s.FlaggedAndLabelled);
            n++;
        }
        Assert.Equal(summary.Series.Count, n);
        Assert.Equal(ModelFile.Load(_run.ModelFile).ModelId, summary.ModelId);
    }

    [Fact]
    public void Detect_KnowsModelScoresAndOther()
    {
        Assert.Equal(OutputFileKind.Model, OutputFiles.Detect(_run.ModelFile));
        Assert.Equal(OutputFileKind.Scores, OutputFiles.Detect(_run.ScoresFile));
        Assert.Throws<SparkAnomalyException>(() => OutputFiles.Detect(_run.DataCsv));
    }
}
