using SparkAnomaly.Scoring;

namespace SparkAnomaly.Tests.Evaluation;

public sealed class AlarmFilterTests
{
    [Theory]
    [InlineData("0110111010", 1, "0110111010")]
    [InlineData("0110111010", 2, "0110111000")] // the single-step run at 8 goes
    [InlineData("0110111010", 3, "0000111000")] // so does the two-step run at 1..2
    [InlineData("1111", 5, "0000")]
    [InlineData("", 3, "")]
    public void DropShort_RunsShorterThanMinimum_AreCleared(string alarms, int minDuration, string expected)
    {
        Assert.Equal(Bits(expected), AlarmFilter.DropShort(Bits(alarms), minDuration));
    }

    [Theory]
    [InlineData("1100100011", 0, "1100100011")]
    [InlineData("1100100011", 2, "1111100011")] // gap of 2 (rows 2..3) filled, gap of 3 (rows 5..7) kept
    [InlineData("1100100011", 3, "1111111111")]
    [InlineData("0010100", 5, "0011100")] // leading and trailing normal rows are not gaps
    [InlineData("000", 5, "000")]
    public void MergeGaps_GapsUpToMaximum_AreFilled(string alarms, int maxGap, string expected)
    {
        Assert.Equal(Bits(expected), AlarmFilter.MergeGaps(Bits(alarms), maxGap));
    }

    [Theory]
    [InlineData("0111011110", 1, "0111011110")]
    [InlineData("0111011110", 3, "0001000110")] // a step alarms once it and the two before it exceeded
    [InlineData("0111011110", 5, "0000000000")]
    [InlineData("1110", 3, "0010")] // the first steps have no history, so they never alarm
    [InlineData("", 2, "")]
    public void Persist_StepNeedsConsecutiveExceedances_CountingItself(string alarms, int persistence, string expected)
    {
        Assert.Equal(Bits(expected), AlarmFilter.Persist(Bits(alarms), persistence));
    }

    [Fact]
    public void Apply_Persistence_GoesBeforeMergingAndTheDurationFilter()
    {
        // Persistence 2 leaves steps 1, 4, 5 and 10; merging fills the two-step gap 2..3 (run 1..5) but not the
        // four-step gap 6..9; MinDuration 2 then drops the lone step 10.
        var exceed = Bits("110111000110");

        Assert.Equal(Bits("010011000010"), AlarmFilter.Persist(exceed, 2));
        Assert.Equal(Bits("011111000000"), new AlarmFilter(MinDuration: 2, MergeGap: 2, Persistence: 2).Apply(exceed));
    }

    [Fact]
    public void Apply_Persistence_IsCausal()
    {
        // A step's alarm depends only on the steps up to it: cutting off the future changes no earlier step.
        var filter = new AlarmFilter(Persistence: 3);
        var full = filter.Apply(Bits("0111101111100"));

        Assert.Equal(Bits("0001100011100"), full);
        Assert.Equal(full.Take(8).ToArray(), filter.Apply(Bits("01111011")));
    }

    [Fact]
    public void Apply_FlappingAlarm_IsMergedBeforeTheDurationFilter()
    {
        // Merging first turns 1-0-1 into a three-step run that survives MinDuration 3; the lone alarm at 7 does not.
        var filter = new AlarmFilter(MinDuration: 3, MergeGap: 1);

        Assert.Equal(Bits("1110000000"), filter.Apply(Bits("1010000100")));
    }

    [Fact]
    public void Apply_DefaultFilter_ChangesNothing()
    {
        var alarms = Bits("0101101");

        Assert.Equal(alarms, AlarmFilter.None.Apply(alarms));
    }

    [Theory]
    [InlineData(0, 0, "minimum duration 0")]
    [InlineData(1, -1, "merge gap -1")]
    public void Apply_OutOfRangeParameters_ThrowsSparkAnomalyException(int minDuration, int mergeGap, string fragment)
    {
        var ex = Assert.Throws<SparkAnomalyException>(() => new AlarmFilter(minDuration, mergeGap).Apply(Bits("01")));

        Assert.Contains(fragment, ex.Message);
    }

    [Fact]
    public void Apply_PersistenceBelowOne_ThrowsSparkAnomalyException()
    {
        var ex = Assert.Throws<SparkAnomalyException>(() => new AlarmFilter(Persistence: 0).Apply(Bits("01")));

        Assert.Contains("persistence 0", ex.Message);
    }

    private static bool[] Bits(string s) => s.Select(c => c == '1').ToArray();
}
