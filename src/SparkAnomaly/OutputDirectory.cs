using System.Diagnostics;

namespace SparkAnomaly;

/// <summary>
/// Claims an output directory for one run: refuses an existing non-empty directory unless the caller
/// overwrites or resumes, and holds a lock file naming the holder so that two runs cannot interleave
/// their writes. A stale lock (its process gone) is taken over, and the temporary files a killed run
/// left behind (<c>.name.pid.guid.tmp</c>, see <see cref="Training.AtomicFile"/>) are removed once the
/// lock is held. A directory this claim created is removed again on dispose if nothing was written
/// into it, so a refused run leaves no trace.
/// </summary>
public sealed class OutputDirectory : IDisposable
{
    public const string LockFileName = ".sparkanomaly.lock";

    private readonly string _lockPath;
    private readonly bool _created;
    private FileStream? _lock;

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

    public static OutputDirectory Claim(string path, bool overwrite, bool resume = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = System.IO.Path.GetFullPath(path);
        if (System.IO.File.Exists(full))
        {
            throw new SparkAnomalyException($"output '{path}' is a file; --out takes a directory. Pass a new directory name.");
        }
        string lockPath = System.IO.Path.Combine(full, LockFileName);
        bool created = !Directory.Exists(full);
        if (!created)
        {
            bool hasContent = Directory.EnumerateFileSystemEntries(full).Any(e => System.IO.Path.GetFileName(e) != LockFileName);
            if (hasContent && !overwrite && !resume)
            {
                throw new SparkAnomalyException($"output directory '{path}' already exists and is not empty. Pass --overwrite to replace its files, --resume to continue a run, or choose another --out.");
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
        RemoveStaleTempFiles(full);
        return new OutputDirectory(full, lockPath, lockStream, created);
    }

    /// <summary>Deletes temporary files of interrupted atomic writes; only called while holding the lock, so none is in use.</summary>
    private static void RemoveStaleTempFiles(string directory)
    {
        foreach (string file in Directory.EnumerateFiles(directory, ".*.tmp"))
        {
            var parts = System.IO.Path.GetFileName(file).Split('.');
            // "" . name… . pid . guid . tmp
            if (parts.Length >= 5 && int.TryParse(parts[^3], out _) && parts[^2].Length == 32)
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
                if (attempt == 0 && IsStale(holder))
                {
                    System.IO.File.Delete(lockPath);
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
        try
        {
            using var p = Process.GetProcessById(pid);
            return p.HasExited;
        }
        catch (ArgumentException)
        {
            return true;   // no such process
        }
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
