using SparkAnomaly.Model;

namespace SparkAnomaly.Training;

/// <summary>
/// Round checkpoints: parameters, updater state, data cursors, completed rounds and the config they
/// belong to, in one binary file written to a temporary name, flushed and renamed, so a crash at any
/// moment leaves the previous complete checkpoint or the new one, never a torn file. A checkpoint also
/// names the data it was trained on (a fingerprint), so a resume on other data is refused.
/// A resume may change the length of training (<see cref="TrainingConfig.LengthFields"/>), not what a round computes.
/// </summary>
public static class Checkpoint
{
    /// <summary>
    /// 3: version 2 followed by the loss of the last completed round (so a model written from a checkpoint that already
    /// holds every round still records its final loss). Version 2 files are still read; their loss is unknown (NaN).
    /// </summary>
    private const ushort Version = 3;

    private const ushort OldestReadable = 2;

    public static void Write(string path, TrainingConfig config, ModelConfig model, ulong configHash, TrainingState state, string dataFingerprint = "")
    {
        var w = new WorkerPayload.PayloadWriter(64 + 12 * state.Parameters.Length);
        w.Bytes("SACK"u8);
        w.U16(Version);
        w.U64(configHash);
        w.Str(config.ToJson());
        w.Str(System.Text.Json.JsonSerializer.Serialize(model));
        w.Str(dataFingerprint ?? "");
        w.I32(state.CompletedRounds);
        w.I32(state.Cursors.Length);
        foreach (long c in state.Cursors)
        {
            w.I64(c);
        }
        w.Floats(state.Parameters);
        w.I64(state.Updater.Step);
        w.Floats(state.Updater.FirstMoment);
        w.Floats(state.Updater.SecondMoment);
        w.F64(state.LastRoundLoss);
        byte[] bytes = w.Finish();
        AtomicFile.Write(path, stream =>
        {
            int half = bytes.Length / 2;
            stream.Write(bytes, 0, half);
            stream.Flush();
            PausePoint.Reached("checkpoint-write", state.CompletedRounds);
            stream.Write(bytes, half, bytes.Length - half);
        });
    }

    /// <summary>
    /// The training configuration a checkpoint was written with, so that a resume can default to the run's own
    /// settings instead of the built-in ones (<c>train --resume</c> with no other flags).
    /// </summary>
    public static TrainingConfig ReadConfig(string path)
    {
        var r = new WorkerPayload.PayloadReader(ReadBytes(path), $"checkpoint '{path}'");
        r.ExpectVersion("SACK"u8, OldestReadable, Version);
        r.U64();
        return TrainingConfig.FromJson(r.Str(), path);
    }

    private static byte[] ReadBytes(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            throw new SparkAnomalyException($"checkpoint '{path}' cannot be read: {e.Message}", e);
        }
    }

    public static TrainingState Read(string path, TrainingConfig config, ModelConfig model, ulong configHash, string dataFingerprint = "")
    {
        var r = new WorkerPayload.PayloadReader(ReadBytes(path), $"checkpoint '{path}'");
        ushort version = r.ExpectVersion("SACK"u8, OldestReadable, Version);
        ulong hash = r.U64();
        var saved = TrainingConfig.FromJson(r.Str(), path);
        string savedModel = r.Str();
        if (hash != configHash)
        {
            // The stored hash covers rounds and epochs too; a resume may lengthen (or shorten, down to the rounds already
            // done: the master checks that) the run, so only the other result-defining fields and the model must match.
            var diffs = config.DiffersFrom(saved, ignoreLength: true);
            string currentModel = System.Text.Json.JsonSerializer.Serialize(model);
            if (diffs.Count > 0 || savedModel != currentModel)
            {
                string what = diffs.Count > 0 ? string.Join("; ", diffs) : $"model {savedModel} -> {currentModel}";
                throw new SparkAnomalyException($"checkpoint '{path}' was written with another configuration ({what}). "
                    + "A resume may change only the length of training (rounds or epochs, to at least the rounds the checkpoint holds) "
                    + "and settings that do not change the model (device, threads, checkpointEvery, threshold, thresholdScope, scoreRule). "
                    + "Resume with the original settings, or start afresh without --resume.");
            }
        }
        string savedData = r.Str();
        if (dataFingerprint.Length > 0 && savedData.Length > 0 && savedData != dataFingerprint)
        {
            throw new SparkAnomalyException($"checkpoint '{path}' was written for other data (fingerprint {savedData}; this data has {dataFingerprint}). Resume with the same --data, or start afresh without --resume (with --overwrite).");
        }
        int rounds = r.I32();
        int workers = r.I32();
        if (workers is < 1 or > 1024)
        {
            throw new SparkAnomalyException($"checkpoint '{path}' declares {workers} workers: the file is damaged.");
        }
        var cursors = new long[workers];
        for (int i = 0; i < workers; i++)
        {
            cursors[i] = r.I64();
        }
        var parameters = r.Floats();
        var updater = new UpdaterState(r.I64(), r.Floats(), r.Floats());
        double lastLoss = version >= 3 ? r.F64() : double.NaN;
        return new TrainingState(rounds, parameters, updater, cursors, lastLoss);
    }
}

/// <summary>Writes files so that readers see the old content or the new, never a part.</summary>
public static class AtomicFile
{
    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, fs => fs.Write(bytes));

    public static void WriteAllText(string path, string text) => WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>Runs <paramref name="write"/> against a temporary file beside <paramref name="path"/>, then renames it into place.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string tmp = TempNameFor(path);
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(tmp);
            throw CannotWrite(path, tmp, e);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    /// <summary>A hidden temporary name in the same directory (same file system, so the rename is atomic).</summary>
    public static string TempNameFor(string path)
    {
        string full = Path.GetFullPath(path);
        return Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
    }

    /// <summary>
    /// A failed write (disk full, permission denied, a directory in the way) is the environment's
    /// fault, not a bug: one line naming the file the user asked for — not our temporary name —, the
    /// operating system's reason, and what to do.
    /// </summary>
    private static SparkAnomalyException CannotWrite(string path, string tmp, Exception e)
    {
        // .NET appends " : 'PATH'" (or quotes the path) to the OS message; the line names the file once, and the
        // temporary name means nothing to the user.
        string full = Path.GetFullPath(path);
        string reason = e.Message.Replace($" : '{tmp}'", "", StringComparison.Ordinal).Replace($" : '{full}'", "", StringComparison.Ordinal)
            .Replace($"'{tmp}'", $"'{path}'", StringComparison.Ordinal).Trim().TrimEnd('.');
        return new SparkAnomalyException($"cannot write '{path}': {reason}. Free some disk space or fix the permissions, or choose another output path.", e);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
