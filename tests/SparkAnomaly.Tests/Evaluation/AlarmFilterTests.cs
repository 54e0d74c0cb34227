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

    private static bool[] Bits(string s) => s.Select(c => c == '1').ToArray();
}
