using SparkAnomaly.Evaluation;

namespace SparkAnomaly.Tests.Evaluation;

public sealed class MetricsTests
{
    // Shared hand-made case: two true events, rows 1..3 and 6..7.
    //   index:     0 1 2 3 4 5 6 7 8 9
    //   actual:    0 1 1 1 0 0 1 1 0 0
    //   predicted: 0 0 1 0 0 1 0 0 0 0
    private static readonly bool[] s_actual = Bits("0111001100");
    private static readonly bool[] s_predicted = Bits("0010010000");

    [Fact]
    public void PointWise_HandMadeCase_CountsEachRowOnItsOwn()
    {
        // TP: row 2; FP: row 5; FN: rows 1, 3, 6, 7; TN: rows 0, 4, 8, 9.
        Assert.Equal(new ConfusionCounts(1, 1, 4, 4), Metrics.PointWise(s_predicted, s_actual));
    }

    [Fact]
    public void PointAdjusted_OneRowOfEventFlagged_WholeEventCountsAsDetected()
    {
        // Row 2 detects event 1..3, so rows 1 and 3 become TP; event 6..7 stays missed; FP row 5 is unchanged.
        var c = Metrics.PointAdjusted(s_predicted, s_actual);

        Assert.Equal(new ConfusionCounts(3, 1, 2, 4), c);
        Assert.Equal(3.0 / (3 + 1.5), c.F1, 12);
    }

    [Fact]
    public void EventWise_HandMadeCase_OneOfTwoEventsAndOneOfTwoAlarmsHit()
    {
        var e = Metrics.EventWise(s_predicted, s_actual);

        Assert.Equal(new EventCounts(TrueEvents: 2, DetectedEvents: 1, AlarmSegments: 2, FalseAlarmSegments: 1), e);
        Assert.Equal(0.5, e.Precision, 12);
        Assert.Equal(0.5, e.Recall, 12);
        Assert.Equal(0.5, e.F1, 12);
    }

    [Fact]
    public void EventWise_AlarmSpanningTwoEvents_DetectsBothAndIsOneTrueAlarm()
    {
        var e = Metrics.EventWise(Bits("011111"), Bits("110011"));

        Assert.Equal(new EventCounts(2, 2, 1, 0), e);
        Assert.Equal(1.0, e.F1, 12);
    }

    [Fact]
    public void TimeToDetect_HandMadeCase_StepsFromStartOrNullWhenMissed()
    {
        // Event 1 starts at row 1 and is first flagged at row 2; event 2 is never flagged.
        Assert.Equal(new int?[] { 1, null }, Metrics.TimeToDetect(s_predicted, s_actual));
    }

    [Fact]
    public void TimeToDetect_AlarmBeforeEventOnly_IsMissed()
    {
        // The alarm at row 0 precedes the event at rows 1..2; an early alarm is not a detection.
        Assert.Equal(new int?[] { null }, Metrics.TimeToDetect(Bits("1000"), Bits("0110")));
    }

    [Fact]
    public void Segments_MixedFlags_ReturnsMaximalRunsWithExclusiveEnds()
    {
        Assert.Equal(new[] { (0, 2), (3, 4), (6, 7) }, Metrics.Segments(Bits("1101001")));
        Assert.Empty(Metrics.Segments(Bits("000")));
        Assert.Empty(Metrics.Segments(ReadOnlySpan<bool>.Empty));
    }

    [Fact]
    public void Metrics_UnlabelledRowInsideEvent_RowIsExcludedAndSplitsTheEvent()
    {
        var actual = Bits("1111");
        var predicted = Bits("0001");
        var labelled = Bits("1101");

        // Row 2 is out of every count; events are rows 0..1 (missed) and row 3 (hit).
        Assert.Equal(new ConfusionCounts(1, 0, 2, 0), Metrics.PointWise(predicted, actual, labelled));
        Assert.Equal(new ConfusionCounts(1, 0, 2, 0), Metrics.PointAdjusted(predicted, actual, labelled));
        Assert.Equal(new EventCounts(2, 1, 1, 0), Metrics.EventWise(predicted, actual, labelled));
        Assert.Equal(new int?[] { null, 0 }, Metrics.TimeToDetect(predicted, actual, labelled));
    }

    [Fact]
    public void PointWise_LengthMismatch_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => Metrics.PointWise(Bits("01"), Bits("011")));
        Assert.Throws<ArgumentException>(() => Metrics.PointWise(Bits("01"), Bits("01"), Bits("1")));
    }

    [Fact]
    public void RocAuc_TiedScoresAcrossClasses_TieCountsOneHalf()
    {
        // Positives score {0.9, 0.8}, negatives {0.8, 0.3}. Of the 4 (pos, neg) pairs, three are ordered
        // correctly and (0.8, 0.8) is a tie worth 1/2: AUC = 3.5 / 4.
        double[] scores = { 0.9, 0.8, 0.8, 0.3 };

        Assert.Equal(0.875, Metrics.RocAuc(scores, Bits("1100")), 12);
    }

    [Fact]
    public void RocAuc_ScikitLearnDocExample_Is075()
    {
        // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75.
        Assert.Equal(0.75, Metrics.RocAuc(new[] { 0.1, 0.4, 0.35, 0.8 }, Bits("0011")), 12);
    }

    [Fact]
    public void RocAuc_AllScoresEqual_IsOneHalf()
    {
        Assert.Equal(0.5, Metrics.RocAuc(new[] { 1.0, 1.0, 1.0, 1.0 }, Bits("0101")), 12);
    }

    [Fact]
    public void RocAuc_RandomScoresWithManyTies_EqualsPairwiseCount()
    {
        // Scores drawn from 5 values, so most pairs are tied; the pairwise count is the definition.
        var random = new Random(4711);
        var scores = Enumerable.Range(0, 300).Select(_ => (double)random.Next(5)).ToArray();
        var actual = scores.Select(s => random.NextDouble() < 0.1 + 0.15 * s).ToArray();

        double expected = PairwiseAuc(
            scores.Where((_, i) => actual[i]).ToArray(), scores.Where((_, i) => !actual[i]).ToArray());

        Assert.Equal(expected, Metrics.RocAuc(scores, actual), 12);
    }

    [Fact]
    public void RocAuc_OneClassOnly_IsNaN()
    {
        Assert.True(double.IsNaN(Metrics.RocAuc(new[] { 0.1, 0.2 }, Bits("11"))));
    }

    [Fact]
    public void RocAuc_NaNScore_ThrowsSparkAnomalyException()
    {
        var ex = Assert.Throws<SparkAnomalyException>(() => Metrics.RocAuc(new[] { 0.1, double.NaN }, Bits("01")));
        Assert.Contains("row 1", ex.Message);
    }

    [Fact]
    public void RocAuc_UnlabelledRows_AreIgnored()
    {
        // Without the mask, the badly ranked row 2 would lower the AUC.
        double[] scores = { 0.9, 0.1, 0.95 };
        Assert.Equal(1.0, Metrics.RocAuc(scores, Bits("100"), Bits("110")), 12);
    }

    [Fact]
    public void PrAuc_ScikitLearnDocExample_Is08333()
    {
        // sklearn.metrics.average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.8333...:
        // thresholds 0.8 (P 1, R 0.5), 0.4 (P 1/2, R 0.5), 0.35 (P 2/3, R 1) → 0.5·1 + 0 + 0.5·2/3.
        Assert.Equal(5.0 / 6, Metrics.PrAuc(new[] { 0.1, 0.4, 0.35, 0.8 }, Bits("0011")), 12);
    }

    [Fact]
    public void PrAuc_TiedScoresAcrossClasses_TieGroupIsOneThreshold()
    {
        // Threshold 0.9: P 1, R 1/2. Threshold 0.8 takes both tied rows at once: P 2/3, R 1.
        // AP = 1/2 · 1 + 1/2 · 2/3 = 5/6. Splitting the tie in the favourable order would give 1.
        double[] scores = { 0.9, 0.8, 0.8, 0.3 };

        Assert.Equal(5.0 / 6, Metrics.PrAuc(scores, Bits("1010")), 12);
        Assert.Equal(5.0 / 6, Metrics.PrAuc(scores, Bits("1100")), 12);
    }

    [Fact]
    public void PrAuc_NoAnomalies_IsNaN()
    {
        Assert.True(double.IsNaN(Metrics.PrAuc(new[] { 0.1, 0.2 }, Bits("00"))));
    }

    [Fact]
    public void Evaluate_TwoSeries_SumsCountsAndPoolsScores()
    {
        var first = new EvaluationSeries(new[] { 0.1, 0.2, 0.9, 0.3 }, Bits("0010"), Bits("0011"));
        var second = new EvaluationSeries(new[] { 0.8, 0.2, 0.7 }, Bits("101"), Bits("011"), Labelled: Bits("111"));

        var report = Metrics.Evaluate(new[] { first, second });

        // first: TP row 2, FN row 3, TN rows 0-1. second: FP row 0, FN row 1, TP row 2.
        Assert.Equal(2, report.SeriesCount);
        Assert.Equal(new ConfusionCounts(2, 1, 2, 2), report.PointWise);
        Assert.Equal(report.PointWise.F1, report.F1);
        // Point adjust: the event 2..3 of the first series becomes fully detected, likewise event 1..2 of the second.
        Assert.Equal(new ConfusionCounts(4, 1, 0, 2), report.PointAdjusted);
        Assert.Equal(new EventCounts(2, 2, 3, 1), report.Events);
        Assert.Equal(new int?[] { 0, 1 }, report.TimesToDetect);
        Assert.Equal(0.5, report.MeanTimeToDetect);
        Assert.Equal(0.5, report.MedianTimeToDetect);
        // Pooled scores: positives {0.9, 0.3, 0.2, 0.7}, negatives {0.1, 0.2, 0.8}. Pairs won per positive:
        // 0.9 → 3, 0.3 → 2, 0.2 → 1 + tie 1/2, 0.7 → 2; AUC = 8.5 / 12.
        Assert.Equal(8.5 / 12, report.RocAuc!.Value, 12);
        Assert.Equal(PairwiseAuc(new[] { 0.9, 0.3, 0.2, 0.7 }, new[] { 0.1, 0.2, 0.8 }), report.RocAuc.Value, 12);
        Assert.NotNull(report.PrAuc);
    }

    [Fact]
    public void Evaluate_SeriesWithoutScores_ReportsNoAuc()
    {
        var report = Metrics.Evaluate(new[] { new EvaluationSeries(null, Bits("01"), Bits("01")) });

        Assert.Null(report.RocAuc);
        Assert.Null(report.PrAuc);
        Assert.Equal(1.0, report.F1);
    }

    [Fact]
    public void Evaluate_NoDetectedEvent_TimeToDetectIsNull()
    {
        var report = Metrics.Evaluate(new[] { new EvaluationSeries(null, Bits("000"), Bits("011")) });

        Assert.Null(report.MeanTimeToDetect);
        Assert.Null(report.MedianTimeToDetect);
        Assert.Equal(new int?[] { null }, report.TimesToDetect);
    }

    /// <summary>Brute-force Mann–Whitney: share of (pos, neg) pairs ranked right, ties count 1/2.</summary>
    private static double PairwiseAuc(double[] positives, double[] negatives)
    {
        double won = 0;
        foreach (var p in positives)
        {
            foreach (var n in negatives)
            {
                won += p > n ? 1 : p == n ? 0.5 : 0;
            }
        }
        return won / (positives.Length * negatives.Length);
    }

    private static bool[] Bits(string s) => s.Select(c => c == '1').ToArray();
}
