namespace Baton.Storage.Sqlite;

/// <summary>How hard the SQLite store works to keep a commit once it has told the caller about it.</summary>
public enum SqliteDurability
{
    /// <summary>
    /// WAL journal with <c>synchronous=NORMAL</c>. A commit survives a crash of the process (the
    /// WAL is written before the caller is told), but the last commits before a power loss or OS
    /// crash may be lost; the database itself never corrupts. The default.
    /// </summary>
    ProcessCrashSafe = 0,

    /// <summary>
    /// WAL journal with <c>synchronous=FULL</c>: every commit is fsynced before the caller is told,
    /// so it also survives a power loss. Each group commit costs one fsync.
    /// </summary>
    FullSync = 1,
}

/// <summary>
/// Options of the embedded SQLite store (<c>UseSqlite</c>). All writes go through one writer that
/// commits whatever is queued (up to <see cref="MaxBatchSize"/> operations) in one transaction;
/// reads use pooled connections that run concurrently with it (WAL).
/// </summary>
public sealed class SqliteStoreOptions
{
    /// <summary>The database file. Relative paths are resolved against the current directory; a missing directory is created. The default is <c>baton.db</c>.</summary>
    public string Path { get; set; } = "baton.db";

    /// <summary>
    /// <see cref="SqliteDurability.ProcessCrashSafe"/> (WAL, <c>synchronous=NORMAL</c>; safe against a
    /// process crash, may lose the last commits on power loss) or <see cref="SqliteDurability.FullSync"/>
    /// (WAL, <c>synchronous=FULL</c>; also safe against power loss, slower commits).
    /// The default is <see cref="SqliteDurability.ProcessCrashSafe"/>.
    /// </summary>
    public SqliteDurability Durability { get; set; } = SqliteDurability.ProcessCrashSafe;

    /// <summary>The highest <see cref="MaxBatchSize"/> accepted.</summary>
    public const int MaxBatchSizeLimit = 65_536;

    /// <summary>The most write operations committed together in one transaction: 1 to <see cref="MaxBatchSizeLimit"/>. The default is 512.</summary>
    public int MaxBatchSize { get; set; } = 512;

    /// <summary>
    /// How often a background connection copies committed WAL pages into the database file
    /// (a PASSIVE checkpoint, which never blocks the writer or readers). The default is 100 ms.
    /// <see cref="TimeSpan.Zero"/> leaves checkpoints to SQLite: the commit that takes the WAL
    /// past 1000 pages runs one on the writer, and the callers of that commit wait for it.
    /// With the background checkpointer the writer still checkpoints, as a backstop, once the
    /// WAL passes <see cref="WalBackstopPages"/>.
    /// </summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// With a background checkpointer: the WAL size in pages at which the writer checkpoints by
    /// itself (SQLite's <c>wal_autocheckpoint</c>), in case the background passes cannot keep up.
    /// The default is 16384 pages (64 MiB with 4 KiB pages).
    /// </summary>
    public int WalBackstopPages { get; set; } = 16384;

    /// <summary>
    /// Opens the database for reading only, next to the process that owns it (a tool, a dashboard, a test looking at
    /// what a live or killed node wrote): no writer, no schema migration, no ownership lock, so it works while another
    /// process has the store open; every write throws <see cref="InvalidOperationException"/>. The database must
    /// exist. The default is false.
    /// </summary>
    public bool ReadOnly { get; set; }

    /// <summary>
    /// How long a connection of the store (the writer, a read, the checkpointer) waits for a lock held by another connection or
    /// process before failing with SQLite's "database is locked" (code 5): one wait, to the millisecond. The default is 5 seconds.
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
