using Baton.Runs;
using Baton.Storage.Sqlite.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Baton.Storage.Sqlite.Tests;

/// <summary>
/// The background WAL checkpointer, on real database files: where committed pages land (the WAL or
/// the database file) is read from the files themselves. Its clock is a fake one.
/// </summary>
public sealed class SqliteCheckpointerTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDatabase _database = new();
    private readonly FakeTimeProvider _time = new(T0);

    public void Dispose() => _database.Dispose();

    private SqliteBatonStore Open(string path, TimeSpan interval, int backstopPages = 16384) =>
        new(new SqliteStoreOptions { Path = path, CheckpointInterval = interval, WalBackstopPages = backstopPages },
            NullLogger<SqliteBatonStore>.Instance, _time);

    /// <summary>Commits <paramref name="count"/> creates one at a time: one WAL append each, more than 1000 pages for 400.</summary>
    private static async Task CreateRunsAsync(SqliteBatonStore store, int count, string keyPrefix = "a")
    {
        for (var i = 0; i < count; i++)
        {
            var result = await store.Runs.CreateRunAsync(new CreateRunRequest
            {
                Id = Guid.CreateVersion7().ToString(), Workflow = "wf", Now = T0,
                ConcurrencyKey = $"{keyPrefix}-{i}", Input = $"{{\"n\":{i}}}",
            });
            Assert.Equal(CreateRunOutcome.Created, result.Outcome);
        }
    }

    private static Task<object?> CountRunsAsync(SqliteBatonStore store) =>
        store.WriteAsync(ctx => ctx.Command("SELECT COUNT(*) FROM runs").ExecuteScalar(), CancellationToken.None);

    /// <summary>The value of the <c>baton.sqlite.wal.frames</c> gauge, as a metrics scrape would read it.</summary>
    private static long? ObserveWalFrames(SqliteBatonStore store)
    {
        long? frames = null;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, store.Metrics.Meter) && instrument.Name == "baton.sqlite.wal.frames")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => frames = value);
        listener.Start();
        listener.RecordObservableInstruments();
        return frames;
    }

    private static long Length(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    /// <summary>Advances the fake clock by the interval until a pass completes (the loop may not be waiting yet on the first advance).</summary>
    private async Task<CheckpointResult> RunPassAsync(SqliteCheckpointer checkpointer, TimeSpan interval)
    {
        var pass = checkpointer.NextPass;
        // Bounded by wall-clock time, not by a count of moves: a loaded machine may take seconds to start the loop's wait.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!pass.IsCompleted && watch.Elapsed < TimeSpan.FromSeconds(60))
        {
            _time.Advance(interval);
            await Task.WhenAny(pass, Task.Delay(50));
        }

        Assert.True(pass.IsCompleted, "no checkpoint pass ran after the clock moved on");
        return await pass;
    }

    [Fact]
    public async Task Pass_AfterTheInterval_CopiesCommittedPagesIntoTheDatabaseFile()
    {
        var path = _database.NewPath();
        var interval = TimeSpan.FromSeconds(1);
        await using var store = Open(path, interval);
        await CreateRunsAsync(store, 400);
        var checkpointer = Assert.IsType<SqliteCheckpointer>(store.Checkpointer);
        var fileBefore = Length(path);

        // No pass before the clock moves; below the backstop the writer does not checkpoint either.
        Assert.False(checkpointer.NextPass.IsCompleted);
        Assert.Null(ObserveWalFrames(store));
        Assert.True(Length(path + "-wal") > 1000 * 4096, "the 400 commits should have taken the WAL past SQLite's own checkpoint size");
        var result = await RunPassAsync(checkpointer, interval);

        Assert.True(result.WalFrames > 1000, $"WAL frames {result.WalFrames}");
        Assert.Equal(result.WalFrames, ObserveWalFrames(store));
        Assert.Equal(result.WalFrames, result.CheckpointedFrames);
        Assert.True(Length(path) > fileBefore, $"database file {fileBefore} -> {Length(path)} bytes");
        // The next commit starts the WAL from its beginning: it does not grow past the size it has.
        var walAfter = Length(path + "-wal");
        await CreateRunsAsync(store, 50, "b");
        Assert.Equal(walAfter, Length(path + "-wal"));
        Assert.Equal(450L, await CountRunsAsync(store));
    }

    [Fact]
    public async Task WithoutPasses_TheWriterCheckpointsAtTheBackstop()
    {
        var path = _database.NewPath();
        // The clock never moves, so the background checkpointer never runs a pass.
        await using var store = Open(path, TimeSpan.FromMinutes(10), backstopPages: 1000);
        await store.InitializeAsync();
        var fileBefore = Length(path);

        await CreateRunsAsync(store, 400);

        Assert.False(store.Checkpointer!.NextPass.IsCompleted);
        Assert.True(Length(path) > fileBefore, $"database file {fileBefore} -> {Length(path)} bytes: the writer did not checkpoint at the backstop");
    }

    [Fact]
    public async Task ZeroInterval_NoCheckpointer_SqliteCheckpointsOnTheWriter()
    {
        var path = _database.NewPath();
        await using var store = Open(path, TimeSpan.Zero);
        await store.InitializeAsync();
        var fileBefore = Length(path);

        await CreateRunsAsync(store, 400);

        Assert.Null(store.Checkpointer);
        Assert.True(Length(path) > fileBefore, $"database file {fileBefore} -> {Length(path)} bytes: SQLite's auto-checkpoint did not run");
        Assert.True(Length(path + "-wal") < 1100 * 4200, "the WAL grew past SQLite's checkpoint size");
    }

    [Fact]
    public async Task Dispose_StopsTheCheckpointerFirst_LastCloseRemovesTheWal()
    {
        var path = _database.NewPath();
        var store = Open(path, TimeSpan.FromSeconds(1));
        await CreateRunsAsync(store, 20);
        var pending = store.Checkpointer!.NextPass;
        Assert.True(File.Exists(path + "-wal"));

        await store.DisposeAsync();

        // The writer's close was the last one: SQLite checkpointed everything and deleted the WAL.
        Assert.False(File.Exists(path + "-wal"));
        Assert.True(pending.IsCanceled);
        await using var reopened = Open(path, TimeSpan.Zero);
        Assert.Equal(20L, await CountRunsAsync(reopened));
    }
}
