namespace Baton.Storage.Sqlite.Internal;

/// <summary>
/// Makes one process the owner of a database: an exclusive OS lock on <c>{database}.lock</c>, held for as long
/// as a store of this process has the database open. The kernel drops the lock when the process dies, however it
/// dies, so a lock that can be taken proves every lease in the database belongs to a process that is gone.
/// A separate file rather than SQLite's exclusive locking mode: other processes (a backup, the sqlite3 shell,
/// a test checking what a killed process left) can still read the database itself.
/// </summary>
internal sealed class SqliteStoreLock
{
    // Stores of one process share the lock: an OS lock taken twice by one process would refuse the second.
    private static readonly Dictionary<string, SqliteStoreLock> Held = new(StringComparer.Ordinal);
    private static readonly Lock Gate = new();

    private readonly string _path;
    private readonly FileStream _file;
    private int _holders;

    private SqliteStoreLock(string path, FileStream file)
    {
        _path = path;
        _file = file;
    }

    /// <summary>
    /// Takes the lock for <paramref name="databasePath"/>. <paramref name="first"/> is true when no other store of
    /// this process held it, i.e. nothing alive holds a lease in the database. Throws
    /// <see cref="StoreInUseException"/> when another process holds it, and <see cref="InvalidOperationException"/> naming
    /// the lock file when it cannot be opened for any other reason.
    /// </summary>
    public static SqliteStoreLock Acquire(string databasePath, out bool first)
    {
        // The lock file sits next to the file the path leads to, not next to the path as written: a second server given
        // the same database through a symbolic link (to the file or to a folder on the way) took a lock of its own
        // beside the link, and both executed the same run's steps at once.
        var path = RealPath(databasePath) + ".lock";
        lock (Gate)
        {
            if (Held.TryGetValue(path, out var held))
            {
                held._holders++;
                first = false;
                return held;
            }

            FileStream file;
            try
            {
                // FileShare.None is an exclusive flock on Unix and a sharing-mode lock on Windows.
                file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            }
            catch (PathTooLongException ex)
            {
                // Before: reported as "in use by another process" (a 251-character file name is a valid database, -wal and
                // -shm, but its ".lock" passes the file system's 255).
                throw new InvalidOperationException(
                    $"Baton:Store:Sqlite: the lock file '{path}' of the database '{databasePath}' has a name too long for the file system; use a shorter database file name.",
                    ex);
            }
            catch (IOException ex) when (IsHeldElsewhere(ex))
            {
                throw new StoreInUseException(
                    databasePath,
                    $"Baton:Store:Sqlite: the database '{databasePath}' is in use by another process (it holds '{path}'). " +
                    "A SQLite store belongs to one process at a time; stop the other process or use PostgreSQL for several nodes.",
                    ex);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Before: every IOException was "in use by another process", so a lock file that could not be opened at all (a
                // directory, a link loop, a read-only file system, too many open files) sent the operator after a process
                // that did not exist.
                throw new InvalidOperationException(
                    $"Baton:Store:Sqlite: cannot open the lock file '{path}' of the database '{databasePath}': {ex.Message} " +
                    "The store locks that file to own the database; it must be a regular file this process can create and write.",
                    ex);
            }

            held = new SqliteStoreLock(path, file) { _holders = 1 };
            Held[path] = held;
            first = true;
            return held;
        }
    }

    /// <summary>
    /// Whether opening the lock file failed because another process holds it. Unix: .NET's flock with LOCK_NB failed with
    /// EWOULDBLOCK, which it reports as the errno in HResult (11 on Linux, 35 on macOS and the BSDs). Windows: a sharing or
    /// lock violation (HRESULT_FROM_WIN32 of 32 or 33).
    /// </summary>
    private static bool IsHeldElsewhere(IOException ex) =>
        OperatingSystem.IsWindows() ? ex.HResult is unchecked((int)0x80070020) or unchecked((int)0x80070021)
        : ex.HResult == (OperatingSystem.IsLinux() ? 11 : 35);

    /// <summary>Gives this store's hold back; the last holder of the process unlocks the file.</summary>
    public void Release()
    {
        lock (Gate)
        {
            if (--_holders > 0)
            {
                return;
            }

            Held.Remove(_path);
            _file.Dispose();
        }
    }

    /// <summary>
    /// <paramref name="path"/> made absolute with every symbolic link on the way followed (what <c>realpath</c> gives), so
    /// two spellings of one file name one lock. A link loop or an unreadable link leaves the rest of the path as written.
    /// </summary>
    internal static string RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        var root = Path.GetPathRoot(full) ?? "/";
        var parts = full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var current = root;
        for (var i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            FileSystemInfo? target = null;
            try
            {
                var info = Directory.Exists(next) ? (FileSystemInfo)new DirectoryInfo(next) : new FileInfo(next);
                target = info.LinkTarget is null ? null : info.ResolveLinkTarget(returnFinalTarget: true);
            }
            catch (IOException)
            {
                // A loop or a link that cannot be read: keep this part as written.
            }

            current = target is null ? next : Path.GetFullPath(target.FullName);
        }

        return current;
    }
}
