using Baton.Storage.Sqlite.Internal;
using Microsoft.Extensions.Logging.Abstractions;

namespace Baton.Storage.Sqlite.Tests;

/// <summary>One process owns a database at a time; the first store of a process takes over every lease left in it.</summary>
public sealed class SqliteOwnershipTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    private static SqliteBatonStore Open(string path, bool readOnly = false) =>
        new(new SqliteStoreOptions { Path = path, ReadOnly = readOnly }, NullLogger<SqliteBatonStore>.Instance);

    private static CreateRunRequest NewRun() => new() { Id = Guid.CreateVersion7().ToString(), Workflow = "wf", Now = T0 };

    private static ClaimRunsRequest Claim(string owner, DateTimeOffset now) =>
        new() { Owner = owner, MaxRuns = 10, Now = now, LeaseExpiresAt = now.AddSeconds(30) };

    [Fact]
    public async Task InitializeAsync_FileNameTooLongForItsLockFile_SaysSoNotThatAnotherProcessHoldsIt()
    {
        // Before (review 53): a 251-character file name is a valid database (its -wal and -shm fit the 255 limit) but its
        // ".lock" does not, and the failure to create that file was reported as "in use by another process".
        var path = Path.Combine(Path.GetDirectoryName(_database.NewPath())!, new string('d', 248) + ".db");
        await using var store = Open(path);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync());

        Assert.IsNotType<StoreInUseException>(error);
        Assert.Contains("too long", error.Message, StringComparison.Ordinal);
        Assert.Contains(Path.GetFullPath(path), error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("another process", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a link to itself")]
    [InlineData("a directory")]
    public async Task InitializeAsync_LockFileCannotBeOpened_SaysSoNamingItNotThatAnotherProcessHoldsIt(string lockFile)
    {
        // Before: a link loop (ELOOP, an IOException) was reported as "in use by another process", and a directory
        // (UnauthorizedAccessException) came out bare, without saying it was the store's lock file. Both fail for root too.
        var path = _database.NewPath();
        var lockPath = Path.GetFullPath(path) + ".lock";
        Directory.CreateDirectory(_database.Directory);
        if (lockFile == "a directory")
        {
            Directory.CreateDirectory(lockPath);
        }
        else
        {
            File.CreateSymbolicLink(lockPath, lockPath);
        }

        await using var store = Open(path);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync());

        Assert.Contains($"cannot open the lock file '{lockPath}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(error.InnerException!.Message, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("another process", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InitializeAsync_AnotherProcessOwnsDatabase_ThrowsStoreInUseAndReadOnlyStillReads()
    {
        var path = _database.NewPath();
        await using (var process = CrashHost.Start(path, SqliteDurability.ProcessCrashSafe))
        {
            var written = (await process.WaitForLineAsync(line => line.StartsWith("ok ", StringComparison.Ordinal), "a write"))["ok ".Length..];

            await using var second = Open(path);
            var error = await Assert.ThrowsAsync<StoreInUseException>(() => second.InitializeAsync());
            await using var reader = Open(path, readOnly: true);
            var read = await reader.Runs.GetRunAsync(written);

            Assert.Equal(Path.GetFullPath(path), error.Path);
            Assert.Contains(Path.GetFullPath(path), error.Message, StringComparison.Ordinal);
            Assert.Contains("another process", error.Message, StringComparison.Ordinal);
            Assert.NotNull(read);
            process.Kill();
        }

        // The kernel dropped the killed process's lock: the database opens again at once.
        await using var after = Open(path);
        await after.InitializeAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task InitializeAsync_SameDatabaseThroughASymbolicLink_ThrowsStoreInUse(bool linkTheFolder)
    {
        // Before: the lock was '<path as written>.lock', so a second server given the file through a link (to it, or to a
        // folder on the way) took a lock of its own and both executed the same run's steps at once.
        var path = _database.NewPath();
        var other = Path.Combine(Path.GetTempPath(), "baton-link-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(other);
        try
        {
            var linked = linkTheFolder
                ? Path.Combine(Directory.CreateSymbolicLink(Path.Combine(other, "dir"), Path.GetDirectoryName(path)!).FullName, Path.GetFileName(path))
                : File.CreateSymbolicLink(Path.Combine(other, "baton.db"), path).FullName;
            await using (var process = CrashHost.Start(path, SqliteDurability.ProcessCrashSafe))
            {
                await process.WaitForLineAsync(line => line.StartsWith("ok ", StringComparison.Ordinal), "a write");

                await using var second = Open(linked);
                var error = await Assert.ThrowsAsync<StoreInUseException>(() => second.InitializeAsync());

                Assert.Contains("another process", error.Message, StringComparison.Ordinal);
                process.Kill();
            }
        }
        finally
        {
            Directory.Delete(other, recursive: true);
        }
    }

    [Fact]
    public async Task InitializeAsync_FileIsNotADatabase_ErrorNamesTheSettingAndTheFile()
    {
        // Before: "SqliteException: SQLite Error 26: 'file is not a database'." with no file or setting named.
        var path = _database.NewPath();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, Enumerable.Range(0, 8192).Select(i => (byte)(i * 7)).ToArray());

        await using var store = Open(path);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync());

        Assert.Contains($"Baton:Store:Sqlite:Path '{Path.GetFullPath(path)}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("the file is not a SQLite database", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PingAsync_WritesFailOnAFullDatabase_FailsNamingIt_AndPassesAgainOnceAWriteCommits()
    {
        // A full disk lets reads through: before, the ping (a read) passed and /health said ready while every write failed.
        var path = _database.NewPath();
        await using var store = Open(path);
        await store.InitializeAsync();
        await store.Runs.CreateRunAsync(NewRun());
        var pages = await store.WriteAsync(ctx => Convert.ToInt64(ctx.Command("PRAGMA page_count").ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture), CancellationToken.None);
        await store.WriteAsync(ctx => ctx.Command($"PRAGMA max_page_count = {pages}").ExecuteNonQuery(), CancellationToken.None);

        var full = await Record.ExceptionAsync(async () =>
        {
            for (var i = 0; i < 1000; i++)
            {
                await store.Runs.CreateRunAsync(NewRun() with { Input = "{\"pad\":\"" + new string('x', 2000) + "\"}" });
            }
        });
        var ping = await Record.ExceptionAsync(() => store.PingAsync());
        await store.WriteAsync(ctx => ctx.Command("PRAGMA max_page_count = 1073741823").ExecuteNonQuery(), CancellationToken.None);
        await store.Runs.CreateRunAsync(NewRun());
        var after = await Record.ExceptionAsync(() => store.PingAsync());

        Assert.Equal(13, Assert.IsType<Microsoft.Data.Sqlite.SqliteException>(full).SqliteErrorCode);
        Assert.Contains("the last write to", ping?.Message, StringComparison.Ordinal);
        Assert.Contains("full", ping!.Message, StringComparison.Ordinal);
        Assert.Null(after);
    }

    [Fact]
    public async Task InitializeAsync_LeasesLeftByEarlierProcess_TakenOverWhateverTheirOwner()
    {
        var path = _database.NewPath();
        string runId;
        await using (var earlier = Open(path))
        {
            runId = (await earlier.Runs.CreateRunAsync(NewRun())).Run.Id;
            Assert.Single(await earlier.Runs.ClaimRunsAsync(Claim("host-1-4711-ab12cd", T0)));
        }

        await using var restarted = Open(path);
        await restarted.InitializeAsync();
        var recovery = await restarted.RecoverLeasesAsync(new LeaseRecoveryRequest("node-new", T0.AddSeconds(1)));
        var claimed = Assert.Single(await restarted.Runs.ClaimRunsAsync(Claim("node-new", T0.AddSeconds(1))));

        Assert.Equal(new LeaseRecoveryResult("node-new", 1), recovery);
        Assert.Equal(runId, claimed.Id);
        Assert.True(claimed.TakenOver);
    }

    [Fact]
    public async Task InitializeAsync_SecondStoreOfSameProcess_SharesOwnershipAndTakesNothingOver()
    {
        var path = _database.NewPath();
        await using var first = Open(path);
        var runId = (await first.Runs.CreateRunAsync(NewRun())).Run.Id;
        Assert.Single(await first.Runs.ClaimRunsAsync(Claim("node-a", T0)));

        await using (var second = Open(path))
        {
            await second.InitializeAsync();
            Assert.Empty(await second.Runs.ClaimRunsAsync(Claim("node-b", T0.AddSeconds(1))));
        }

        var run = await first.Runs.GetRunAsync(runId);
        Assert.Equal("node-a", run!.LeaseOwner);
        Assert.Equal(T0.AddSeconds(30), run.LeaseExpiresAt);
        Assert.Empty(await first.Runs.ClaimRunsAsync(Claim("node-b", T0.AddSeconds(2))));
    }

    [Fact]
    public async Task WriteAsync_ReadOnlyStore_ThrowsAndWritesNothing()
    {
        var path = _database.NewPath();
        await using (var owner = Open(path))
        {
            await owner.InitializeAsync();
        }

        await using var reader = Open(path, readOnly: true);
        var run = NewRun();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => reader.Runs.CreateRunAsync(run));

        Assert.Contains("read-only", error.Message, StringComparison.Ordinal);
        Assert.Null(await reader.Runs.GetRunAsync(run.Id));
    }
}
