namespace Baton.Storage.Sqlite.Tests;

/// <summary>A temporary directory for database files, deleted (with the WAL and shm files) on dispose.</summary>
internal sealed class TempDatabase : IDisposable
{
    private int _count;

    public TempDatabase() =>
        Directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "baton-sqlite-tests", Guid.NewGuid().ToString("N"));

    public string Directory { get; }

    /// <summary>A new database file path in the directory (the directory itself is created by the store).</summary>
    public string NewPath() => System.IO.Path.Combine(Directory, $"store-{Interlocked.Increment(ref _count)}.db");

    public void Dispose()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
