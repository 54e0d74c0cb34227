namespace SparkAnomaly;

/// <summary>
/// The one exception type for user, data and environment failures: bad options, unreadable or
/// malformed input, a model file that does not fit, a native library that cannot load. Its message
/// is a single line that says what failed, where, and what to do. Programmer errors stay BCL
/// exceptions (<see cref="ArgumentNullException"/> and friends).
/// </summary>
public sealed class SparkAnomalyException : Exception
{
    public SparkAnomalyException()
    {
    }

    public SparkAnomalyException(string message)
        : base(message)
    {
    }

    public SparkAnomalyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
