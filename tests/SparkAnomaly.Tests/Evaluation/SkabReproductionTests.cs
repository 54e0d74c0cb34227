using System.Globalization;
using SparkAnomaly.Evaluation;

namespace SparkAnomaly.Tests.Evaluation;

/// <summary>
/// Re-scores SKAB's published per-row predictions with <see cref="Metrics.PointWise"/> and checks the result
/// against reference_predictions_rescored.csv, which SKAB's own metric produced (see
/// shared/data/skab/reference/README.md): TP/FP/FN/TN summed over the 34 test parts; F1, FAR and MAR
/// rounded to 2 decimals by Python's round().
/// </summary>
public sealed class SkabReproductionTests
{
    [Fact]
    public void PointWise_SkabReferencePredictions_ReproduceRescoredTableExactly()
    {
        string skab = Path.Combine(TestData.SharedDataDirectory, "skab");
        var labels = ReadTestLabels(Path.Combine(skab, "tidy.csv"));
        var predictions = ReadPredictions(Path.Combine(skab, "reference", "reference_predictions.csv"));
        var expected = File.ReadAllLines(Path.Combine(skab, "reference", "reference_predictions_rescored.csv"));

        Assert.Equal("detector,series_matched,TP,FP,FN,TN,F1,FAR_%,MAR_%", expected[0]);
        var rows = expected.Skip(1).Where(l => l.Length > 0).ToArray();
        Assert.Equal(10, rows.Length);
        Assert.Equal(rows.Select(r => r.Split(',')[0]).Order(), predictions.Keys.Order());

        foreach (var row in rows)
        {
            var f = row.Split(',');
            string detector = f[0];
            var counts = ConfusionCounts.Zero;
            int seriesMatched = 0;
            foreach (var (seriesId, rowsOfSeries) in predictions[detector])
            {
                // Inner join on (series_id, timestamp): two detectors have fewer rows than the test parts,
                // and the rescored table counts only the rows that carry a prediction.
                var predicted = new List<bool>();
                var actual = new List<bool>();
                foreach (var (timestamp, prediction) in rowsOfSeries)
                {
                    if (labels.TryGetValue((seriesId, timestamp), out bool label))
                    {
                        predicted.Add(prediction);
                        actual.Add(label);
                    }
                }
                if (actual.Count > 0)
                {
                    seriesMatched++;
                    counts = counts.Add(Metrics.PointWise(predicted.ToArray(), actual.ToArray()));
                }
            }

            string what = $"detector {detector}";
            Assert.True(int.Parse(f[1], CultureInfo.InvariantCulture) == seriesMatched, what + " series_matched");
            Assert.True(new ConfusionCounts(Long(f[2]), Long(f[3]), Long(f[4]), Long(f[5])) == counts, what + $" counts {counts}");
            Assert.True(Double(f[6]) == PythonRound2(counts.F1), what + $" F1 {counts.F1}");
            Assert.True(Double(f[7]) == PythonRound2(counts.Far), what + $" FAR {counts.Far}");
            Assert.True(Double(f[8]) == PythonRound2(counts.Mar), what + $" MAR {counts.Mar}");
        }
    }

    [Theory]
    [InlineData(0.785, 0.79)] // the double nearest 0.785 lies above it
    [InlineData(0.125, 0.12)] // an exact binary tie rounds to even
    [InlineData(0.375, 0.38)]
    [InlineData(13.554999999999999, 13.55)]
    [InlineData(100.0, 100.0)]
    public void PythonRound2_KnownPythonResults_Match(double value, double expected)
    {
        // Expected values are what CPython prints for round(value, 2).
        Assert.Equal(expected, PythonRound2(value));
    }

    /// <summary>
    /// CPython's round(x, 2): correctly rounded from the exact binary value of x, ties to even. Twenty-five
    /// exact decimals are plenty: a double in this range that is not an exact tie lies at least ~1e-19 from one.
    /// </summary>
    private static double PythonRound2(double value)
    {
        decimal exact = decimal.Parse(value.ToString("F25", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return (double)Math.Round(exact, 2, MidpointRounding.ToEven);
    }

    private static long Long(string s) => long.Parse(s, CultureInfo.InvariantCulture);

    private static double Double(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    /// <summary>(series_id, timestamp) → label for rows of tidy.csv whose split is "test".</summary>
    private static Dictionary<(string, string), bool> ReadTestLabels(string path)
    {
        using var reader = new StreamReader(path);
        var header = reader.ReadLine()!.Split(',');
        int series = Array.IndexOf(header, "series_id"), time = Array.IndexOf(header, "timestamp");
        int label = Array.IndexOf(header, "label"), split = Array.IndexOf(header, "split");
        Assert.True(series >= 0 && time >= 0 && label >= 0 && split >= 0, "tidy.csv header: " + string.Join(",", header));

        var result = new Dictionary<(string, string), bool>();
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            var f = line.Split(',');
            if (f[split] == "test")
            {
                result.Add((f[series], f[time]), f[label] == "1");
            }
        }
        return result;
    }

    /// <summary>detector → series_id → (timestamp, prediction) in file order.</summary>
    private static Dictionary<string, Dictionary<string, List<(string, bool)>>> ReadPredictions(string path)
    {
        using var reader = new StreamReader(path);
        Assert.Equal("series_id,timestamp,detector,prediction", reader.ReadLine());

        var result = new Dictionary<string, Dictionary<string, List<(string, bool)>>>();
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            var f = line.Split(',');
            if (!result.TryGetValue(f[2], out var bySeries))
            {
                result[f[2]] = bySeries = new Dictionary<string, List<(string, bool)>>();
            }
            if (!bySeries.TryGetValue(f[0], out var rows))
            {
                bySeries[f[0]] = rows = new List<(string, bool)>();
            }
            rows.Add((f[1], f[3] == "1"));
        }
        return result;
    }
}
