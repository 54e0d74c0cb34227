namespace SparkAnomaly.Tests.Evaluation;

/// <summary>Finds the read-only shared data next to the repository (never copied into it).</summary>
internal static class TestData
{
    public static string SharedDataDirectory
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SparkAnomaly.sln")))
            {
                dir = dir.Parent;
            }
            if (dir is null)
            {
                throw new InvalidOperationException(
                    $"No SparkAnomaly.sln above {AppContext.BaseDirectory}; run the tests from a checkout.");
            }
            var data = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data"));
            if (!Directory.Exists(data))
            {
                throw new InvalidOperationException($"Shared data folder {data} is missing; it holds the SKAB files.");
            }
            return data;
        }
    }
}
