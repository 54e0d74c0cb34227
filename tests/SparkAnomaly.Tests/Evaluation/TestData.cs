namespace SparkAnomaly.Tests.Evaluation;

/// <summary>Finds the read-only shared data next to the repository (never copied into it).</summary>
internal static class TestData
{
    public static string SharedDataDirectory
    {
        get
        {
            var data = TestPaths.SharedData;
            if (!Directory.Exists(data))
            {
                throw new InvalidOperationException($"Shared data folder {data} is missing; it holds the SKAB files.");
            }
            return data;
        }
    }
}
