using System.Globalization;
using System.Text.RegularExpressions;
using SparkAnomaly.Evaluation;
using SparkAnomaly.Reporting;
using SparkAnomaly.Tests.Skab;

namespace SparkAnomaly.Tests.Reporting;

/// <summary>report.html: self-contained, one chart per series plus ROC and PR, metric cells equal the report.</summary>
public sealed class HtmlReportTests
{
    private static (ReportContent Content, EvaluationReport Report) Content()
    {
        var (_, scored) = ScoresFixture.Build();
        var series = scored.Select(s => new ReportSeries(
            s.Series.Id, s.Score, Enumerable.Repeat(ScoresFixture.Threshold, s.Score.Length).ToArray(),
            s.Series.Labels?.Select(l => l == 1).ToArray() ?? new bool[s.Score.Length],
            s.Series.Splits!.Select((sp, r) => s.Series.Labels is not null && sp == SparkAnomaly.Data.RowSplit.Test).ToArray(),
            s.IsAnomaly,
            new[] { ("a", s.Series.Values.Where((_, i) => i % 2 == 0).Select(v => (double)v).ToArray()) },
            "signal")).ToList();
        var report = Metrics.Evaluate(series.Select(s => new EvaluationSeries(s.Score, s.Detected, s.Actual, s.Labelled)).ToList());
        return (new ReportContent("test <report>", report, series, new[] { "a note & more" },
            new[] { new ComparisonRow("Conv-AE", 0.78, 13.55, 28.02), new ComparisonRow("ours", report.F1, report.Far, report.Mar, true) }), report);
    }

    [Fact]
    public void Render_IsSelfContained_NoExternalSrcOrHref()
    {
        string html = HtmlReport.Render(Content().Content);

        Assert.DoesNotMatch(new Regex("(src|href)\\s*=\\s*\"(?!data:)", RegexOptions.IgnoreCase), html);
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.Contains("test &lt;report&gt;", html);
    }

    [Fact]
    public void Render_HasOneChartPerSeriesPlusRocAndPr_AllDecodableImages()
    {
        var (content, _) = Content();
        string html = HtmlReport.Render(content);

        Assert.Equal(content.Series.Count, Regex.Matches(html, "<figure class=\"series\"").Count);
        Assert.Single(Regex.Matches(html, "<figure class=\"roc\""));
        Assert.Single(Regex.Matches(html, "<figure class=\"pr\""));
        var images = Regex.Matches(html, "src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"");
        Assert.Equal(content.Series.Count + 2, images.Count);
        foreach (Match m in images)
        {
            byte[] png = Convert.FromBase64String(m.Groups[1].Value);
            Assert.True(png.Length > 1000);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        }
    }

    [Fact]
    public void Render_MetricsTable_MatchesEvaluationReport()
    {
        var (content, r) = Content();
        string html = HtmlReport.Render(content);

        string Cell(string key) => Regex.Match(html, $"data-metric=\"{key}\">([^<]*)<").Groups[1].Value;
        double Num(string key) => double.Parse(Cell(key), CultureInfo.InvariantCulture);
        Assert.Equal(Math.Round(r.F1, 4), Num("f1"));
        Assert.Equal(Math.Round(r.Far, 4), Num("far"));
        Assert.Equal(Math.Round(r.Mar, 4), Num("mar"));
        Assert.Equal(Math.Round(r.PointWise.Precision, 4), Num("precision"));
        Assert.Equal(Math.Round(r.PointWise.Recall, 4), Num("recall"));
        Assert.Equal(Math.Round(r.PointAdjustedF1, 4), Num("pointAdjustedF1"));
        Assert.Equal(Math.Round(r.EventF1, 4), Num("eventF1"));
        Assert.Equal(Math.Round(r.RocAuc!.Value, 4), Num("rocAuc"));
        Assert.Equal(Math.Round(r.PrAuc!.Value, 4), Num("prAuc"));
        Assert.Equal($"{r.PointWise.TP} / {r.PointWise.FP} / {r.PointWise.FN} / {r.PointWise.TN}", Cell("counts"));
    }

    [Fact]
    public void Save_WritesFileAtomically()
    {
        using var dir = new TempDir();
        HtmlReport.Save(dir.File("report.html"), Content().Content);

        Assert.True(File.Exists(dir.File("report.html")));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void Save_LeavesAUsersTmpFileAlone_AndAnUnwritablePathIsAUserError()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("report.html.tmp"), "mine");
        Directory.CreateDirectory(dir.File("adir"));

        HtmlReport.Save(dir.File("report.html"), Content().Content);
        var e = Assert.Throws<SparkAnomalyException>(() => HtmlReport.Save(dir.File("adir"), Content().Content));

        Assert.Equal("mine", File.ReadAllText(dir.File("report.html.tmp")));
        Assert.Contains($"cannot write '{dir.File("adir")}'", e.Message);
        Assert.Equal(new[] { dir.File("report.html.tmp") }, Directory.GetFiles(dir.Path, "*.tmp"));
        Assert.Empty(Directory.GetFiles(dir.Path, ".*"));
    }

    [Fact]
    public void Curves_Roc_TrapezoidAreaEqualsMetricsRocAuc()
    {
        var rng = new Random(3);
        var scores = Enumerable.Range(0, 500).Select(_ => Math.Round(rng.NextDouble(), 2)).ToArray();   // rounding makes ties
        var actual = scores.Select(s => rng.NextDouble() < s).ToArray();

        var (fpr, tpr) = Curves.Roc(scores, actual, default);
        double area = 0;
        for (int i = 1; i < fpr.Length; i++)
        {
            area += (fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1]) / 2;
        }

        Assert.Equal((0.0, 0.0), (fpr[0], tpr[0]));
        Assert.Equal((1.0, 1.0), (fpr[^1], tpr[^1]));
        Assert.Equal(Metrics.RocAuc(scores, actual), area, 12);
        var (recall, precision) = Curves.PrecisionRecall(scores, actual, default);
        Assert.Equal(1.0, recall[^1]);
        Assert.Equal((double)actual.Count(a => a) / actual.Length, precision[^1], 12);
    }
}
