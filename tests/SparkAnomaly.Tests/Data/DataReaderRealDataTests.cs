using System.Diagnostics;
using SparkAnomaly.Data;
using Xunit.Abstractions;

namespace SparkAnomaly.Tests.Data;

/// <summary>A fact that is skipped, with the reason, when a shared data set is absent.</summary>
public sealed class SharedDataFactAttribute : FactAttribute
{
    public SharedDataFactAttribute(string relativePath)
    {
        if (SharedData.Find(relativePath) is null)
        {
            Skip = $"shared data set '{relativePath}' not found in ../shared/data next to the repository root";
        }
    }
}

/// <summary>The shared tidy.csv files load as they are.</summary>
public sealed class DataReaderRealDataTests
{
    private readonly ITestOutputHelper _output;

    public DataReaderRealDataTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [SharedDataFact("skab/tidy.csv")]
    public void Read_SkabTidyCsv_HasDocumentedShapeAndSplits()
    {
        string path = SharedData.Find("skab/tidy.csv")!;
        DataReader.Read(path); // warm-up (JIT), so the timing below is the parse itself

        var sw = Stopwatch.StartNew();
        var set = DataReader.Read(path, null, out var warnings);
        sw.Stop();

        Assert.Equal(35, set.Series.Count);
        Assert.Equal(8, set.Channels);
        Assert.Equal(46_806, set.TotalRows);
        Assert.Equal(TimestampKind.DateTime, set.TimestampKind);
        Assert.Equal("Accelerometer1RMS", set.ChannelNames[0]);
        Assert.Equal("Volume Flow RateRMS", set.ChannelNames[7]);
        var splits = set.Series.SelectMany(s => s.Splits!).GroupBy(x => x).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(13_600, splits[RowSplit.Train]);
        Assert.Equal(23_801, splits[RowSplit.Test]);
        Assert.Equal(9_405, splits[RowSplit.Unspecified]);
        Assert.Equal(13_067, set.Series.SelectMany(s => s.Labels!).Count(l => l == 1));
        Assert.Equal("anomaly-free/anomaly-free", set.Series[0].Id);
        Assert.All(set.Series, s => Assert.True(s.Timestamps.Zip(s.Timestamps.Skip(1)).All(p => p.First < p.Second)));
        double seconds = sw.Elapsed.TotalSeconds;
        _output.WriteLine($"SKAB tidy.csv: {set.TotalRows} rows in {seconds * 1000:F1} ms = {set.TotalRows / seconds:N0} rows/s, {set.TotalRows * 8 / seconds:N0} values/s; {warnings.Count} warnings");
    }

    [SharedDataFact("ims_bearing/tidy.csv")]
    public void Read_ImsBearingTidyCsv_LoadsWithEmptyLabels()
    {
        var set = DataReader.Read(SharedData.Find("ims_bearing/tidy.csv")!);

        Assert.Equal(["Bearing 1", "Bearing 2", "Bearing 3", "Bearing4"], set.ChannelNames);
        Assert.Equal(TimestampKind.DateTime, set.TimestampKind);
        Assert.All(set.Series, s => Assert.True(s.Length > 0));
        Assert.All(set.Series, s => Assert.All(s.Labels!, l => Assert.Equal(Series.NoLabel, l)));
        Assert.All(set.Series, s => Assert.All(s.Splits!, x => Assert.Equal(RowSplit.Unspecified, x)));
    }
}
