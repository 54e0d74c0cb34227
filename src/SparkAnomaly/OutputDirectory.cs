using System.Diagnostics;

namespace SparkAnomaly;

/// <summary>
/// Claims an output directory for one run: refuses an existing non-empty directory unless the caller
/// overwrites or resumes, and holds a lock file naming the holder so that two runs cannot interleave
/// their writes. A stale lock (its process gone) is taken over, and the temporary files a killed run
/// left behind (<c>.name.pid.guid.tmp</c>, see <see cref="Training.AtomicFile"/>) are removed once the
/// lock is held; a stale lock and such temporary files alone do not make a directory "not empty".
/// With overwrite (and not resume) the files of the previous run that this command writes are removed
/// by <see cref="RemovePreviousOutputs"/>, which the command calls just before it writes its first file:
/// an interrupted run never leaves an old model beside a new checkpoint, and a run refused before then
/// (bad data, options only the run itself can check) leaves the previous run whole. A directory this claim created is removed again on dispose if nothing was
/// written into it, so a refused run leaves no trace.
/// </summary>
public sealed class OutputDirectory : IDisposable
{
    public const string LockFileName = ".sparkanomaly.lock";

    private readonly string _lockPath;
    private readonly bool _created;
    private FileStream? _lock;
    private IReadOnlyCollection<string>? _previousOutputs;

    private OutputDirectory(string path, string lockPath, FileStream lockStream, bool created)
    {
        Path = path;
        _lockPath = lockPath;
        _lock = lockStream;
        _created = created;
    }

    public string Path { get; }

    /// <summary>A file inside the directory.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Claims <paramref name="path"/> for one run.</summary>
    /// <param name="path">The --out directory.</param>
    /// <param name="overwrite">--overwrite: a non-empty directory is accepted, and the previous run's <paramref name="outputs"/> are removed by <see cref="RemovePreviousOutputs"/> (unless resuming).</param>
    /// <param name="resume">--resume: a non-empty directory is accepted and its files kept.</param>
    /// <param name="resumable">The command has --resume, so the refusal of a non-empty directory may suggest it.</param>
    /// <param name="outputs">File names this command writes into the directory.</param>
    public static OutputDirectory Claim(string path, bool overwrite, bool resume = false, bool resumable = false, IReadOnlyCollection<string>? outputs = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (string.IsNullOrWhiteSpace(path))
        {
            // Path.GetFullPath("") throws; an empty --out is usually an unset shell variable.
            throw new SparkAnomalyException("--out is empty. Pass the output directory, e.g. --out run1.");
        }
        string full;
        try
        {
            full = System.IO.Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new SparkAnomalyException($"--out '{path}' is not a valid directory path ({e.Message.TrimEnd('.')}). Pass another directory name.", e);
        }
        if (System.IO.File.Exists(full))
        {
            throw new SparkAnomalyException($"output '{path}' is a file; --out takes a directory. Pass a new directory name.");
        }
        string lockPath = System.IO.Path.Combine(full, LockFileName);
        bool created = !Directory.Exists(full);
        if (!created)
        {
            // The lock and the temporary files of an interrupted write are ours, not the user's content:
            // a killed run leaves only those, and the directory looks empty to `ls`. A live holder's lock
            // is refused below, when it is taken.
            bool hasContent = Directory.EnumerateFileSystemEntries(full)
                .Any(e => System.IO.Path.GetFileName(e) != LockFileName && !(System.IO.File.Exists(e) && IsAtomicTempFile(e)));
            if (hasContent && !overwrite && !resume)
            {
                throw new SparkAnomalyException(resumable || resume
                    ? $"output directory '{path}' already exists and is not empty. Pass --overwrite to replace its files, --resume to continue a run, or choose another --out."
                    : $"output directory '{path}' already exists and is not empty. Pass --overwrite to replace its files, or choose another --out.");
            }
        }
        try
        {
            Directory.CreateDirectory(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SparkAnomalyException($"cannot create output directory '{path}': {e.Message} Choose a writable --out.", e);
        }
        var lockStream = AcquireLock(lockPath, path);
        var claimed = new OutputDirectory(full, lockPath, lockStream, created);
        try
        {
            RemoveStaleTempFiles(full);
            if (overwrite && !resume)
            {
                claimed._previousOutputs = outputs;
            }
        }
        catch
        {
            claimed.Dispose();
            throw;
        }
        return claimed;
    }

    /// <summary>
    /// With --overwrite, deletes the previous run's files of the names this command writes, so that until the
    /// new run writes them there is no file a reader could take for its result (an old model.parquet beside a
    /// new checkpoint, say). Call it just before the first write, after everything that may refuse the run:
    /// removing them at the claim would lose the previous run to a refusal. Once only; a no-op without
    /// --overwrite or with --resume. Directories of those names are left for the write to report.
    /// </summary>
    public void RemovePreviousOutputs()
    {
        var outputs = _previousOutputs;
        _previousOutputs = null;
        foreach (string name in outputs ?? Array.Empty<string>())
        {
            string file = File(name);
            if (!System.IO.File.Exists(file))
            {
                continue;
            }
            try
            {
                System.IO.File.Delete(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new SparkAnomalyException($"cannot remove the previous run's '{file}' for --overwrite: {e.Message.TrimEnd('.')}. Fix its permissions, or choose another --out.", e);
            }
        }
    }

    /// <summary>The name shape of <see cref="Training.AtomicFile.TempNameFor"/>: "" . name… . pid . guid(32 hex) . tmp.</summary>
    /// <summary>Whether the process named in an atomic temporary file's name (".name.pid.guid.tmp") still runs: its write may be in flight.</summary>
    private static bool WriterAlive(string file)
    {
        var parts = System.IO.Path.GetFileName(file).Split('.');
        return int.TryParse(parts[^3], out int pid) && pid != Environment.ProcessId && ProcessRuns(pid);
    }

    private static bool ProcessRuns(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;   // no such process
        }
    }

    private static bool IsAtomicTempFile(string file)
    {
        string name = System.IO.Path.GetFileName(file);
        if (!name.StartsWith('.') || !name.EndsWith(".tmp", StringComparison.Ordinal))
        {
            return false;
        }
        var parts = name.Split('.');
        return parts.Length >= 5 && int.TryParse(parts[^3], out _) && parts[^2].Length == 32;
    }

    /// <summary>Deletes temporary files of interrupted atomic writes; only called while holding the lock, so none is in use.</summary>
    private static void RemoveStaleTempFiles(string directory)
    {
        foreach (string file in Directory.EnumerateFiles(directory, ".*.tmp").Where(IsAtomicTempFile).Where(f => !WriterAlive(f)))
        {
            try
            {
                System.IO.File.Delete(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    private static FileStream AcquireLock(string lockPath, string shown)
    {
        for (int attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                var fs = new FileStream(lockPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
                var writer = new StreamWriter(fs);
                writer.Write($"{Environment.ProcessId} {Environment.MachineName} {DateTime.UtcNow:O}");
                writer.Flush();
                fs.Flush(flushToDisk: true);
                return fs;
            }
            catch (IOException) when (System.IO.File.Exists(lockPath))
            {
                string holder = ReadHolder(lockPath);
                if (attempt == 0 && IsStale(holder) && TryRemoveStaleLock(lockPath))
                {
                    continue;
                }
                throw new SparkAnomalyException($"output directory '{shown}' is in use by another run (lock held by process {holder}). Wait for it to finish, or remove {lockPath} if that process is gone.");
            }
            catch (UnauthorizedAccessException e)
            {
                throw new SparkAnomalyException($"cannot write in output directory '{shown}': {e.Message} Choose a writable --out.", e);
            }
        }
        throw new SparkAnomalyException($"could not lock output directory '{shown}'. Retry, or remove {lockPath}.");
    }

    /// <summary>
    /// Removes a lock whose holder looks gone, unless a process still has it open. A live holder keeps its lock
    /// open (a shared lock on Unix, a sharing mode on Windows), so the exclusive open below fails while it runs; and
    /// while one taker holds that open, a second taker of the same stale lock fails too, so two runs that both saw the
    /// lock as stale cannot both take it (the second would otherwise delete the first one's fresh lock, then its files).
    /// </summary>
    private static bool TryRemoveStaleLock(string lockPath)
    {
        try
        {
            using var exclusive = new FileStream(lockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            return true;
        }
        catch (FileNotFoundException)
        {
            return true;   // another taker removed it first; creating ours decides between us
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string ReadHolder(string lockPath)
    {
        try
        {
            using var fs = new FileStream(lockPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return new StreamReader(fs).ReadToEnd().Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static bool IsStale(string holder)
    {
        var parts = holder.Split(' ');
        if (parts.Length < 2 || !int.TryParse(parts[0], out int pid) || parts[1] != Environment.MachineName)
        {
            return false;
        }
        return !ProcessRuns(pid);
    }

    public void Dispose()
    {
        if (_lock is null)
        {
            return;
        }
        _lock.Dispose();
        _lock = null;
        try
        {
            System.IO.File.Delete(_lockPath);
            if (_created && !Directory.EnumerateFileSystemEntries(Path).Any())
            {
                Directory.Delete(Path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
