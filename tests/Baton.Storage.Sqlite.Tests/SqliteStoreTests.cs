using Baton.Runs;
using Baton.Scheduling;
using Baton.Storage.Sqlite.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Baton.Storage.Sqlite.Tests;

/// <summary>Behaviour of the SQLite store beyond the conformance suite: files, PRAGMAs, migrations, the writer.</summary>
public sealed class SqliteStoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    private static SqliteBatonStore Open(string path, SqliteDurability durability = SqliteDurability.ProcessCrashSafe) =>
        new(new SqliteStoreOptions { Path = path, Durability = durability }, NullLogger<SqliteBatonStore>.Instance);

    /// <summary>
    /// A listener of <paramref name="meters"/>' writer-busy histogram that throws on the writer's thread once
    /// <paramref name="armed"/> holds 1: a failure of the writer's own loop, outside any batch's error handling.
    /// </summary>
    private static System.Diagnostics.Metrics.MeterListener ListenerThrowingOnWriterBusy(OwnMeterFactory meters, System.Runtime.CompilerServices.StrongBox<int> armed)
    {
        var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, meters) && instrument.Name == "baton.sqlite.writer.busy")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, _, _, _) =>
        {
            if (Volatile.Read(ref armed.Value) == 1)
            {
                throw new InvalidOperationException("listener failed");
            }
        });
        listener.Start();
        return listener;
    }

    /// <summary>How many of this process's file descriptors are on the database at <paramref name="path"/> or its -wal and -shm (Linux).</summary>
    private static int OpenDescriptors(string path) =>
        Directory.GetFiles("/proc/self/fd").Count(fd => new FileInfo(fd).LinkTarget?.StartsWith(Path.GetFullPath(path), StringComparison.Ordinal) == true);

    private static CreateRunRequest NewRun() => new() { Id = Guid.CreateVersion7().ToString(), Workflow = "wf", Now = T0 };

    /// <summary>A write that holds the writer until <c>gate</c> is set: what is queued meanwhile runs as one batch after it.</summary>
    private static async Task<(Task<int> Blocker, TaskCompletionSource Gate)> HoldWriterAsync(SqliteBatonStore store)
    {
        var (gate, entered) = (new TaskCompletionSource(), new TaskCompletionSource());
        var blocker = store.WriteAsync(_ =>
        {
            entered.TrySetResult();
            gate.Task.Wait();
            return 0;
        }, CancellationToken.None);
        await entered.Task;
        return (blocker, gate);
    }

    private static Task<object?> WriterScalarAsync(SqliteBatonStore store, string sql) =>
        store.WriteAsync(ctx => ctx.Command(sql).ExecuteScalar(), CancellationToken.None);

    [Fact]
    public async Task PruneRunsAsync_RunWithMoreRowsThanAChunk_DeletesThemAllAndLeavesNoNote()
    {
        // The run goes in one write, its rows in writes of PruneChunkRows each (before: one write for the whole batch held the
        // writer 13.4 s for 500 runs of 2,000 items; lease renewals waited behind it).
        var path = _database.NewPath();
        await using var store = Open(path);
        await store.InitializeAsync();
        var doomed = (await store.Runs.CreateRunAsync(NewRun())).Run.Id;
        var kept = (await store.Runs.CreateRunAsync(NewRun())).Run.Id;
        var rows = SqliteRunStore.PruneChunkRows * 2 + 7;
        foreach (var id in new[] { doomed, kept })
        {
            await FillAsync(store, id, rows);
        }

        await WriterScalarAsync(store, $"UPDATE runs SET status = {(int)RunStatus.Succeeded}, completed_at = 0 WHERE id = '{doomed}'");

        var deleted = await store.Runs.PruneRunsAsync(new PruneRunsRequest { IdsBelow = "g", CompletedBefore = T0, MaxRuns = 10 });

        Assert.Equal(1, deleted);
        Assert.Null(await store.Runs.GetRunAsync(doomed));
        Assert.Equal("0:0:0:0", await CountsAsync(store, doomed));
        Assert.Equal($"{rows}:{rows}:{rows}:0", await CountsAsync(store, kept));
    }

    [Fact]
    public async Task PruneRunsAsync_RowsOfARunWhosePruneWasCutOff_DeletedByTheNextPrune()
    {
        // A crash after the write that took the run leaves its note and rows: the next prune, with nothing due, deletes them.
        var path = _database.NewPath();
        await using var store = Open(path);
        await store.InitializeAsync();
        var id = Guid.CreateVersion7().ToString();
        await FillAsync(store, id, 10);
        await WriterScalarAsync(store, $"INSERT INTO pruned_runs (id) VALUES ('{id}')");

        var deleted = await store.Runs.PruneRunsAsync(new PruneRunsRequest { IdsBelow = "g", CompletedBefore = T0, MaxRuns = 10 });

        Assert.Equal(0, deleted);
        Assert.Equal("0:0:0:0", await CountsAsync(store, id));
    }

    [Fact]
    public async Task Reopen_AfterDispose_DataPersists()
    {
        var path = _database.NewPath();
        string runId;
        await using (var store = Open(path))
        {
            runId = (await store.Runs.CreateRunAsync(NewRun() with { Input = "\"x\"" })).Run.Id;
            await store.Schedules.UpsertScheduleAsync(new UpsertScheduleRequest
            {
                Name = "nightly", Workflow = "wf", Cron = "0 2 * * *", TimeZone = "UTC",
                Enabled = true, Misfire = MisfirePolicy.Skip, Now = T0,
            });
        }

        await using var reopened = Open(path);
        var run = await reopened.Runs.GetRunAsync(runId);

        Assert.Equal("\"x\"", run?.Input);
        Assert.NotNull(await reopened.Schedules.GetScheduleAsync("nightly"));
    }

    [Fact]
    public async Task InitializeAsync_RepeatedAndAfterReopen_AppliesEachMigrationOnce()
    {
        var path = _database.NewPath();
        await using (var store = Open(path))
        {
            await store.InitializeAsync();
            await store.InitializeAsync();
        }

        await using var reopened = Open(path);
        await reopened.InitializeAsync();
        var versions = await WriterScalarAsync(reopened, "SELECT COUNT(*) || ':' || MAX(version) FROM schema_version");

        Assert.Equal($"{SqliteMigrations.All.Count}:{SqliteMigrations.All.Count}", versions);
    }

    [Fact]
    public async Task InitializeAsync_FileAtVersion1_AddsNodeRegistryAndClaimIndexesAndKeepsRuns()
    {
        var path = _database.NewPath();
        string runId;
        await using (var old = Open(path))
        {
            runId = (await old.Runs.CreateRunAsync(new CreateRunRequest { Id = Guid.NewGuid().ToString(), Workflow = "wf", Now = DateTimeOffset.UnixEpoch })).Run.Id;
            // Back to what a version-1 node left: no nodes or events table, no retry time on attempts, version 1 recorded.
            await WriterScalarAsync(old, $"""
                INSERT INTO step_attempts (run_id, step_key, attempt, started_at, ended_at, outcome, error_type, error_message)
                    VALUES ('{runId}', 'old', 1, 0, 1000, {(int)AttemptOutcome.Failed}, 'E', 'm');
                ALTER TABLE step_attempts DROP COLUMN retry_at;
                DROP TABLE nodes;
                DROP TABLE run_events;
                DROP TABLE pruned_runs;
                DROP INDEX ix_runs_workflow_status;
                DROP INDEX ix_runs_parent;
                ALTER TABLE runs DROP COLUMN parent_run_id;
                ALTER TABLE runs DROP COLUMN workflow_version;
                ALTER TABLE runs DROP COLUMN trace_parent;
                ALTER TABLE runs DROP COLUMN trace_state;
                ALTER TABLE runs DROP COLUMN wakes_on;
                DROP INDEX ix_runs_free;
                DROP INDEX ix_runs_leased;
                CREATE INDEX ix_runs_runnable ON runs (run_after, lease_owner, lease_expires_at) WHERE status < 10;
                DELETE FROM schema_version WHERE version > 1
                """);
        }

        await using var upgraded = Open(path);
        await upgraded.InitializeAsync();
        await upgraded.Nodes.HeartbeatNodeAsync(new NodeHeartbeatRequest
        {
            NodeId = "n1", Host = "h", ProcessId = 1, Version = "v", StartedAt = DateTimeOffset.UnixEpoch, Now = DateTimeOffset.UnixEpoch,
        });

        Assert.Equal((long)SqliteMigrations.All.Count, await WriterScalarAsync(upgraded, "SELECT MAX(version) FROM schema_version"));
        Assert.Single(await upgraded.Nodes.ListNodesAsync(new ListNodesRequest(DateTimeOffset.UnixEpoch)));
        Assert.Equal(runId, (await upgraded.Runs.GetRunAsync(runId))?.Id);
        // Migration 6 added the workflow version: a run stored before it reads as version 1.
        Assert.Equal(1, (await upgraded.Runs.GetRunAsync(runId))?.WorkflowVersion);
        // Migration 5 added the parent column: a child of the old run can be stored and found by it.
        var child = await upgraded.Runs.CreateRunAsync(new CreateRunRequest { Id = Guid.NewGuid().ToString(), Workflow = "wf", ParentRunId = runId, Now = DateTimeOffset.UnixEpoch, RunAfter = DateTimeOffset.UnixEpoch.AddDays(1) });
        Assert.Equal(child.Run.Id, Assert.Single((await upgraded.Runs.ListRunsAsync(new ListRunsRequest { ParentRunId = runId })).Runs).Id);
        Assert.Equal(SendEventOutcome.Stored, (await upgraded.Events.SendEventAsync(new SendEventRequest { RunId = runId, Name = "e", Now = DateTimeOffset.UnixEpoch })).Outcome);
        // Migration 3 replaced the shared claim index with one per kind, and the old run is claimable through it.
        Assert.Equal("ix_runs_free,ix_runs_leased", await WriterScalarAsync(upgraded,
            "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('ix_runs_free', 'ix_runs_leased', 'ix_runs_runnable') ORDER BY name)"));
        var claimed = await upgraded.Runs.ClaimRunsAsync(new ClaimRunsRequest
        {
            Owner = "n1", MaxRuns = 10, Now = DateTimeOffset.UnixEpoch.AddSeconds(1), LeaseExpiresAt = DateTimeOffset.UnixEpoch.AddMinutes(1),
        });
        Assert.Equal(runId, Assert.Single(claimed).Id);
        // Migration 10 added the retry time: an attempt stored before reads without one, a new one keeps it.
        Assert.True(await upgraded.Steps.RecordAttemptEndedAsync(new AttemptEndedRequest
        {
            RunId = runId, Owner = "n1", StepKey = "new", Kind = StepKind.Step, Attempt = 1, StartedAt = DateTimeOffset.UnixEpoch,
            EndedAt = DateTimeOffset.UnixEpoch.AddSeconds(1), Outcome = AttemptOutcome.Failed, RetryAt = DateTimeOffset.UnixEpoch.AddSeconds(121),
        }));
        Assert.Equal(new DateTimeOffset?[] { DateTimeOffset.UnixEpoch.AddSeconds(121), null }, (await upgraded.Steps.GetAttemptsAsync(runId)).Select(a => a.RetryAt));
    }

    [Fact]
    public async Task InitializeAsync_FileAtVersion11WithANode_AddsWorkflowVersionsAndKeepsTheNode()
    {
        var path = _database.NewPath();
        var beat = new NodeHeartbeatRequest
        {
            NodeId = "n1", Host = "h", ProcessId = 1, Version = "v", Workflows = ["orders"], StartedAt = DateTimeOffset.UnixEpoch, Now = DateTimeOffset.UnixEpoch,
        };
        await using (var old = Open(path))
        {
            await old.Nodes.HeartbeatNodeAsync(beat);
            // Back to what a version-11 node left: its row without the versions column.
            await WriterScalarAsync(old, "ALTER TABLE nodes DROP COLUMN workflow_versions; DELETE FROM schema_version WHERE version > 11");
        }

        await using var upgraded = Open(path);
        await upgraded.InitializeAsync();
        var kept = Assert.Single(await upgraded.Nodes.ListNodesAsync(new ListNodesRequest(DateTimeOffset.UnixEpoch)));
        await upgraded.Nodes.HeartbeatNodeAsync(beat with
        {
            Now = DateTimeOffset.UnixEpoch.AddSeconds(10), WorkflowVersions = [new NodeWorkflowVersions("orders", 2, [1])],
        });
        var renewed = Assert.Single(await upgraded.Nodes.ListNodesAsync(new ListNodesRequest(DateTimeOffset.UnixEpoch)));

        Assert.Equal((long)SqliteMigrations.All.Count, await WriterScalarAsync(upgraded, "SELECT MAX(version) FROM schema_version"));
        Assert.Equal(["orders"], kept.Workflows);
        Assert.Null(kept.WorkflowVersions);
        Assert.Equal(["orders v2 (resumes v1)"], renewed.WorkflowVersions!.Select(w => w.Describe()));
    }

    [Fact]
    public async Task InitializeAsync_NewerSchemaVersion_ThrowsClearError()
    {
        var path = _database.NewPath();
        await using (var store = Open(path))
        {
            await WriterScalarAsync(store, "INSERT INTO schema_version (version, applied_at) VALUES (999, 0)");
        }

        await using var reopened = Open(path);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => reopened.InitializeAsync());
        Assert.Contains("999", error.Message);
    }

    [Theory]
    [InlineData(SqliteDurability.ProcessCrashSafe, 1L)]
    [InlineData(SqliteDurability.FullSync, 2L)]
    public async Task Durability_Option_SetsSynchronousPragmaAndWal(SqliteDurability durability, long expectedSynchronous)
    {
        await using var store = Open(_database.NewPath(), durability);

        var synchronous = await WriterScalarAsync(store, "PRAGMA synchronous");
        var journal = await WriterScalarAsync(store, "PRAGMA journal_mode");

        Assert.Equal(expectedSynchronous, synchronous);
        Assert.Equal("wal", journal);
    }

    [Fact]
    public async Task WriteBatch_OneOperationThrows_FailsOnlyThatOperation()
    {
        await using var store = Open(_database.NewPath());
        await store.InitializeAsync();
        var (blocker, gate) = await HoldWriterAsync(store);

        // Queued while the writer is busy, so the three run as one batch.
        var first = store.Runs.CreateRunAsync(NewRun());
        var bad = store.WriteAsync<int>(ctx =>
        {
            ctx.Command("INSERT INTO runs (id, workflow, status, created_at, updated_at, run_after) VALUES ('bad', 'wf', 0, 0, 0, 0)")
                .ExecuteNonQuery();
            throw new InvalidOperationException("bad operation");
        }, CancellationToken.None);
        var second = store.Runs.CreateRunAsync(NewRun());
        gate.SetResult();
        await blocker;

        Assert.Equal(CreateRunOutcome.Created, (await first).Outcome);
        Assert.Equal(CreateRunOutcome.Created, (await second).Outcome);
        Assert.Equal("bad operation", (await Assert.ThrowsAsync<InvalidOperationException>(() => bad)).Message);
        Assert.NotNull(await store.Runs.GetRunAsync((await first).Run.Id));
        Assert.NotNull(await store.Runs.GetRunAsync((await second).Run.Id));
        Assert.Null(await store.Runs.GetRunAsync("bad"));
    }

    [Fact]
    public async Task WriteBatch_LoggingProviderThrowsAsTheBatchFails_EveryCallerAnsweredAndLaterWritesCommit()
    {
        // Microsoft.Extensions.Logging passes a provider's exception on to the caller (a file logger on the full disk that
        // failed the batch throws). Before: the batch's warning threw out of the writer's loop and ended its thread; the
        // batch's callers, good ones included, and every later write waited for ever.
        var path = _database.NewPath();
        await using var store = new SqliteBatonStore(new SqliteStoreOptions { Path = path }, new WarningThrowingLogger());
        await store.InitializeAsync();
        var (blocker, gate) = await HoldWriterAsync(store);

        // Queued while the writer is busy, so the two run as one batch, which the bad one fails.
        var good = store.Runs.CreateRunAsync(NewRun());
        var bad = store.WriteAsync<int>(_ => throw new InvalidOperationException("bad operation"), CancellationToken.None);
        gate.SetResult();
        await blocker;
        var goodError = await Record.ExceptionAsync(() => good.WaitAsync(TimeSpan.FromSeconds(30)));
        var badError = await Record.ExceptionAsync(() => bad.WaitAsync(TimeSpan.FromSeconds(30)));
        var laterError = await Record.ExceptionAsync(() => store.Runs.CreateRunAsync(NewRun()).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Null(goodError);
        Assert.Equal("bad operation", Assert.IsType<InvalidOperationException>(badError).Message);
        Assert.Null(laterError);
        Assert.NotNull(await store.Runs.GetRunAsync((await good).Run.Id));
    }

    [Fact]
    public async Task WriterLoop_MetricsListenerThrows_QueuedAndLaterWritesFailWithTheCauseAndPingReportsIt()
    {
        // Before: an exception out of the writer's loop (here a metrics listener's, on the writer's thread) ended the
        // thread with the error kept for dispose: queued writes and every later one waited for ever while pings said ok.
        using var meters = new OwnMeterFactory();
        var armed = new System.Runtime.CompilerServices.StrongBox<int>();
        using var listener = ListenerThrowingOnWriterBusy(meters, armed);
        var path = _database.NewPath();
        var store = new SqliteBatonStore(new SqliteStoreOptions { Path = path }, NullLogger.Instance, meterFactory: meters);
        await store.InitializeAsync();
        await store.Runs.CreateRunAsync(NewRun());
        var (blocker, gate) = await HoldWriterAsync(store);
        var queued = store.Runs.CreateRunAsync(NewRun());
        Volatile.Write(ref armed.Value, 1);
        gate.SetResult();

        Assert.Equal(0, await blocker.WaitAsync(TimeSpan.FromSeconds(30))); // committed before the listener threw
        var queuedError = await Record.ExceptionAsync(() => queued.WaitAsync(TimeSpan.FromSeconds(30)));
        var laterError = await Record.ExceptionAsync(() => store.Runs.CreateRunAsync(NewRun()).WaitAsync(TimeSpan.FromSeconds(30)));
        var pingError = await Record.ExceptionAsync(() => store.PingAsync());

        Assert.Contains("writer stopped: listener failed", Assert.IsType<InvalidOperationException>(queuedError).Message, StringComparison.Ordinal);
        Assert.Contains("writer stopped: listener failed", Assert.IsType<InvalidOperationException>(laterError).Message, StringComparison.Ordinal);
        Assert.Contains("writer stopped", Assert.IsType<InvalidOperationException>(pingError).Message, StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<Exception>(async () => await store.DisposeAsync());
    }

    [Fact]
    public async Task DisposeAsync_WriterLoopFailed_ReleasesTheProcessLockAndClosesTheWriterConnection()
    {
        // Before: the writer's dispose rethrew the loop's error before closing its connection, and the store's dispose let it
        // out before clearing the read pool and releasing the process lock: the database stayed open and '{db}.lock' stayed
        // locked for the life of the process, so no other process could open the database and a later store of this one
        // counted as a second holder (it took no lease over).
        using var meters = new OwnMeterFactory();
        var armed = new System.Runtime.CompilerServices.StrongBox<int>();
        using var listener = ListenerThrowingOnWriterBusy(meters, armed);
        var path = _database.NewPath();
        var store = new SqliteBatonStore(new SqliteStoreOptions { Path = path }, NullLogger.Instance, meterFactory: meters);
        await store.InitializeAsync();
        Volatile.Write(ref armed.Value, 1);
        await store.Runs.CreateRunAsync(NewRun()).WaitAsync(TimeSpan.FromSeconds(30)); // commits; the loop then fails
        var laterError = await Record.ExceptionAsync(() => store.Runs.CreateRunAsync(NewRun()).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("writer stopped", Assert.IsType<InvalidOperationException>(laterError).Message, StringComparison.Ordinal);

        await Assert.ThrowsAnyAsync<Exception>(async () => await store.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)));

        // The lock file can be locked again (an exclusive flock of its own, as another process's store would take it), and
        // the writer's close, the last one, removed the WAL.
        var lockError = Record.Exception(() => new FileStream(SqliteStoreLock.RealPath(path) + ".lock", FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose());
        Assert.Null(lockError);
        Assert.False(File.Exists(path + "-wal"), "the writer's connection is still open");
    }

    [Fact]
    public async Task WriteBatch_WriteLockHeldOutsideBaton_EveryOperationOfTheBatchFailsAtOnce()
    {
        // Before: a batch whose BEGIN IMMEDIATE timed out (another connection, outside Baton, held the write lock) was
        // re-run operation by operation, each waiting the busy timeout again: a 512-operation batch waited most of an hour
        // at the 5 s default. Here the lock is released as soon as the first operation fails: before, the second then
        // committed on its own; now the batch's operations have all failed with the first.
        var path = _database.NewPath();
        await using var store = new SqliteBatonStore(new SqliteStoreOptions { Path = path, BusyTimeout = TimeSpan.FromMilliseconds(200) }, NullLogger.Instance);
        await store.InitializeAsync();
        await using var outside = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Default Timeout=1");
        await outside.OpenAsync();
        var (gate, entered) = (new TaskCompletionSource(), new TaskCompletionSource());
        var blocker = store.WriteAsync(ctx =>
        {
            // The writer's own transaction ends here, so the outside connection can take the lock while the writer is
            // still busy with this operation (and the three below queue up as one batch).
            ctx.Command("COMMIT").ExecuteNonQuery();
            entered.TrySetResult();
            gate.Task.Wait();
            return 0;
        }, CancellationToken.None);
        await entered.Task;
        await using (var begin = outside.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE";
            await begin.ExecuteNonQueryAsync();
        }

        var batch = new[] { store.Runs.CreateRunAsync(NewRun()), store.Runs.CreateRunAsync(NewRun()), store.Runs.CreateRunAsync(NewRun()) };
        gate.SetResult();
        _ = await Record.ExceptionAsync(() => blocker); // its COMMIT found no transaction; not what this test is about
        var first = await Record.ExceptionAsync(() => batch[0].WaitAsync(TimeSpan.FromSeconds(60)));
        await using (var commit = outside.CreateCommand())
        {
            commit.CommandText = "COMMIT";
            await commit.ExecuteNonQueryAsync();
        }

        var rest = await Task.WhenAll(batch[1..].Select(t => Record.ExceptionAsync(() => t.WaitAsync(TimeSpan.FromSeconds(60)))));
        var later = await store.Runs.CreateRunAsync(NewRun());

        Assert.Contains("locked", Assert.IsType<Microsoft.Data.Sqlite.SqliteException>(first).Message, StringComparison.Ordinal);
        Assert.All(rest, e => Assert.Same(first, e));
        Assert.NotNull(await store.Runs.GetRunAsync(later.Run.Id));
    }

    [Fact]
    public async Task CreateRunAsync_WriteLockHeldOutsideBaton_FailsAfterTheBusyTimeoutAlone()
    {
        // Before: the writer's connection waited BusyTimeout in SQLite's busy handler for each try, and Microsoft.Data.Sqlite
        // tried again (every 150 ms) until its own command timeout, BusyTimeout rounded up to whole seconds: a 100 ms
        // BusyTimeout failed the write after 1.2 s. That retry cannot end before 1 s, so the bound below fails it whatever the
        // machine's load, and leaves the one 100 ms wait most of a second to spare.
        var path = _database.NewPath();
        var busyTimeout = TimeSpan.FromMilliseconds(100);
        await using var store = new SqliteBatonStore(new SqliteStoreOptions { Path = path, BusyTimeout = busyTimeout }, NullLogger.Instance);
        await store.InitializeAsync();
        await using var outside = await OutsideConnectionAsync(path, "BEGIN IMMEDIATE");

        var (error, elapsed) = await FailureAsync(() => store.Runs.CreateRunAsync(NewRun()));

        AssertLocked(error);
        Assert.InRange(elapsed, busyTimeout * 0.9, TimeSpan.FromMilliseconds(800));
    }

    [Fact]
    public async Task IsTransient_WriteFailedOnALockHeldOutsideBaton_True()
    {
        // Before: false (only a full disk, an I/O error or a read-only file were), and Microsoft.Data.Sqlite's own IsTransient
        // is false for "database is locked" too, so the API answered a write that another process's lock held past BusyTimeout
        // with a bare 500, though the README promises 503 store-unavailable with Retry-After for a busy database (nothing was
        // written: a retry once the lock is released succeeds).
        var path = _database.NewPath();
        await using var store = new SqliteBatonStore(new SqliteStoreOptions { Path = path, BusyTimeout = TimeSpan.FromMilliseconds(50) }, NullLogger.Instance);
        await store.InitializeAsync();
        await using var outside = await OutsideConnectionAsync(path, "BEGIN IMMEDIATE");

        var (error, _) = await FailureAsync(() => store.Runs.CreateRunAsync(NewRun()));

        AssertLocked(error);
        Assert.True(store.IsTransient(error));
        Assert.False(store.IsTransient(new Microsoft.Data.Sqlite.SqliteException("constraint", SQLitePCL.raw.SQLITE_CONSTRAINT)));
    }

    [Fact]
    public async Task GetRunAsync_DatabaseLockedOutsideBaton_FailsAfterTheBusyTimeoutAlone()
    {
        // Before: a read connection had no busy handler, only Microsoft.Data.Sqlite's retry (every 150 ms until BusyTimeout
        // rounded up to whole seconds): a 100 ms BusyTimeout failed the read after 1.05 s (never before 1 s). A read-only
        // store (a tool looking at a database) next to a connection in exclusive locking mode: its reads wait for the lock.
        var path = _database.NewPath();
        string id;
        await using (var owner = Open(path))
        {
            id = (await owner.Runs.CreateRunAsync(NewRun())).Run.Id;
        }

        await using var outside = await OutsideConnectionAsync(path, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; SELECT count(*) FROM runs");
        var busyTimeout = TimeSpan.FromMilliseconds(100);
        await using var store = new SqliteBatonStore(new SqliteStoreOptions { Path = path, BusyTimeout = busyTimeout, ReadOnly = true }, NullLogger.Instance);

        var (error, elapsed) = await FailureAsync(() => store.Runs.GetRunAsync(id));

        AssertLocked(error);
        Assert.InRange(elapsed, busyTimeout * 0.9, TimeSpan.FromMilliseconds(800));
    }

    [Fact]
    public async Task InitializeAsync_WriteLockHeldOutsideBaton_FailsAfterTheBusyTimeoutAloneAndOpensLater()
    {
        // Before: opening waited as a write did (1.2 s for a 100 ms BusyTimeout), for the lease takeover's UPDATE.
        var path = _database.NewPath();
        await using (var first = Open(path))
        {
            await first.InitializeAsync();
        }

        var busyTimeout = TimeSpan.FromMilliseconds(100);
        await using var store = new SqliteBatonStore(new SqliteStoreOptions { Path = path, BusyTimeout = busyTimeout }, NullLogger.Instance);
        var outside = await OutsideConnectionAsync(path, "BEGIN IMMEDIATE");
        Exception error;
        TimeSpan elapsed;
        await using (outside)
        {
            (error, elapsed) = await FailureAsync(() => store.InitializeAsync());
        }

        AssertLocked(error);
        Assert.InRange(elapsed, busyTimeout * 0.9, TimeSpan.FromMilliseconds(800));
        await store.InitializeAsync();
        Assert.NotNull(await store.Runs.GetRunAsync((await store.Runs.CreateRunAsync(NewRun())).Run.Id));
    }

    [Fact]
    public async Task WriteAsync_CompleteOnWriter_ContinuationRunsOnTheWritersThread()
    {
        await using var store = Open(_database.NewPath());
        await store.InitializeAsync();

        // The operation waits until the continuation is attached: one attached to a completed task runs on the caller.
        using var attached = new ManualResetEventSlim();
        var write = store.WriteAsync(
            _ =>
            {
                Assert.True(attached.Wait(TimeSpan.FromSeconds(30)));
                return Environment.CurrentManagedThreadId;
            },
            CancellationToken.None,
            completeOnWriter: true);
        var continuation = write.ContinueWith(
            t => (Writer: t.Result, Continuation: Environment.CurrentManagedThreadId), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        attached.Set();
        var threads = await continuation;

        Assert.Equal(threads.Writer, threads.Continuation);
    }

    [Fact]
    public async Task WriteAsync_Default_ContinuationCannotHoldUpTheWriter()
    {
        await using var store = Open(_database.NewPath());
        await store.InitializeAsync();

        // A continuation that waits for a later write: on the writer's thread it would wait for itself. The operation
        // waits until the continuation is attached (one attached to a completed task would run on this thread).
        using var attached = new ManualResetEventSlim();
        var first = store.WriteAsync(_ => attached.Wait(TimeSpan.FromSeconds(30)), CancellationToken.None);
        var continuation = first.ContinueWith(
            _ => WriterScalarAsync(store, "SELECT 2").Wait(TimeSpan.FromSeconds(30)), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        attached.Set();
        Assert.True(await first);
        var laterWriteDone = await continuation;

        Assert.True(laterWriteDone);
    }

    [Fact]
    public async Task WriteAsync_Operation_RunsOnTheWritersOwnThreadNotOnThePool()
    {
        await using var store = Open(_database.NewPath());
        await store.InitializeAsync();

        var (pool, name) = await store.WriteAsync(_ => (Thread.CurrentThread.IsThreadPoolThread, Thread.CurrentThread.Name), CancellationToken.None);

        Assert.False(pool);
        Assert.Equal("Baton SQLite writer", name);
    }

    [Fact]
    public async Task WriteAsync_EachWriteRacesTheLoopGoingIdle_EveryWriteCompletes()
    {
        await using var store = Open(_database.NewPath());
        await store.InitializeAsync();

        // One write at a time: each is queued just as the loop, having completed the one before, finds the queue empty
        // and goes to sleep. A wake-up lost there leaves that write, and so the whole sequence, waiting for good.
        var sequence = Task.Run(async () =>
        {
            var done = 0;
            for (var i = 0; i < 5_000; i++)
            {
                done += await store.WriteAsync(_ => 1, CancellationToken.None);
            }

            return done;
        });

        Assert.Equal(5_000, await sequence.WaitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task UpdateRunAsync_ContinuesBriefly_CompletesWithoutQueueingTheContinuation()
    {
        await using var store = Open(_database.NewPath());
        await store.InitializeAsync();
        var run = NewRun() with { LeaseOwner = "node-a", LeaseExpiresAt = T0.AddMinutes(1) };
        await store.Runs.CreateRunAsync(run);

        var progress = store.Runs.UpdateRunAsync(new UpdateRunRequest { RunId = run.Id, Owner = "node-a", Now = T0, Phase = "p" });
        var end = store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id, Owner = "node-a", Now = T0, Status = RunStatus.Succeeded, ReleaseLease = true, ContinuesBriefly = true,
        });

        Assert.True(await progress);
        Assert.True(await end);
        Assert.True(progress.CreationOptions.HasFlag(TaskCreationOptions.RunContinuationsAsynchronously));
        Assert.False(end.CreationOptions.HasFlag(TaskCreationOptions.RunContinuationsAsynchronously));
        Assert.Equal(RunStatus.Succeeded, (await store.Runs.GetRunAsync(run.Id))!.Status);
    }

    [Fact]
    public async Task WriteAsync_CancelledWhileQueued_IsNotApplied()
    {
        await using var store = Open(_database.NewPath());
        await store.InitializeAsync();
        var (blocker, gate) = await HoldWriterAsync(store);
        using var cancellation = new CancellationTokenSource();
        var request = NewRun();

        var create = store.Runs.CreateRunAsync(request, cancellation.Token);
        await cancellation.CancelAsync();
        gate.SetResult();
        await blocker;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => create);
        Assert.Null(await store.Runs.GetRunAsync(request.Id));
    }

    [Fact]
    public async Task DisposeAsync_WithQueuedWrites_CommitsThemFirst()
    {
        var path = _database.NewPath();
        var store = Open(path);
        await store.InitializeAsync();
        var requests = Enumerable.Range(0, 200).Select(_ => NewRun()).ToList();

        var writes = requests.Select(r => store.Runs.CreateRunAsync(r)).ToList();
        await store.DisposeAsync();
        await Task.WhenAll(writes);

        await using var reopened = Open(path);
        var page = await reopened.Runs.ListRunsAsync(new ListRunsRequest { Limit = 500 });
        Assert.Equal(200, page.Runs.Count);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.Runs.CreateRunAsync(NewRun()));
    }

    [Fact]
    public async Task GetRunAsync_AfterDispose_ThrowsObjectDisposedAndOpensNoConnection()
    {
        // Before: a read after the store was disposed passed (only writes were refused): it opened a pooled read connection
        // after the pool had been cleared, which recreated the WAL and shared-memory files the close had removed and stayed
        // open, holding three descriptors on the database's files, until the process exited.
        var path = _database.NewPath();
        var store = Open(path);
        await store.InitializeAsync();
        var created = await store.Runs.CreateRunAsync(NewRun());
        await store.DisposeAsync();
        Assert.False(File.Exists(path + "-wal"));

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.Runs.GetRunAsync(created.Run.Id));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.PingAsync());

        Assert.False(File.Exists(path + "-wal"), "a read after dispose opened the database again");
        Assert.False(File.Exists(path + "-shm"), "a read after dispose opened the database again");
    }

    [Fact]
    public async Task DisposeAsync_WhileReadsRun_LeavesNoConnectionOpenOnceTheyEnd()
    {
        // Before: a read that found the store open, then lost the processor while the store was disposed, took its connection
        // from a new pool after the dispose had cleared the old one; that connection stayed open until the process exited
        // (about one dispose in 300 here). A read already holding its connection when the pool is cleared was always closed as
        // it came back. Descriptors are counted in /proc: the WAL is no witness, since a connection opened but never used
        // leaves it behind too without staying open (Linux's /proc, as the test script runs on).
        var path = _database.NewPath();
        for (var i = 0; i < 2000; i++)
        {
            var store = new SqliteBatonStore(new SqliteStoreOptions { Path = path, CheckpointInterval = TimeSpan.Zero }, NullLogger<SqliteBatonStore>.Instance);
            await store.InitializeAsync();
            var readers = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
            {
                try
                {
                    while (true)
                    {
                        await store.PingAsync();
                    }
                }
                catch (ObjectDisposedException)
                {
                    // The store is closed: this reader is done.
                }
            })).ToList();
            await store.PingAsync();

            await store.DisposeAsync();
            await Task.WhenAll(readers);

            Assert.True(OpenDescriptors(path) == 0, $"a read connection stayed open after dispose {i + 1}");
        }
    }

    [Theory]
    [InlineData(nameof(SqliteRunStore.FreeRunsSql), "ix_runs_free")]
    [InlineData(nameof(SqliteRunStore.ExpiredLeasesSql), "ix_runs_leased")]
    public async Task ClaimRunsAsync_QueryPlans_SearchOnlyTheirOwnPartialIndex(string query, string index)
    {
        var sql = query == nameof(SqliteRunStore.FreeRunsSql) ? SqliteRunStore.FreeRunsSql : SqliteRunStore.ExpiredLeasesSql;
        await using var store = Open(_database.NewPath());
        await store.InitializeAsync();

        var plan = await store.ReadAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "EXPLAIN QUERY PLAN " + sql;
            command.Parameters.AddWithValue("$now", 0L);
            command.Parameters.AddWithValue("$max", 10L);
            command.Parameters.AddWithValue("$workflows", "[\"wf\"]");
            using var reader = command.ExecuteReader();
            var details = new List<string>();
            while (reader.Read())
            {
                details.Add(reader.GetString(3));
            }

            return string.Join("\n", details);
        }, CancellationToken.None);

        // A search on the partial index of its own kind, in its order: no scan of the runs in flight, no sort.
        Assert.Contains($"SEARCH runs USING INDEX {index}", plan);
        Assert.DoesNotContain("TEMP B-TREE", plan);
    }

    [Fact]
    public void Constructor_EmptyPath_ThrowsValidationError()
    {
        var error = Assert.Throws<OptionsValidationException>(() =>
            new SqliteBatonStore(new SqliteStoreOptions { Path = " " }, NullLogger<SqliteBatonStore>.Instance));

        Assert.Contains("Path", error.Message);
    }

    [Fact]
    public void Constructor_PathIsDirectory_ThrowsValidationError()
    {
        Directory.CreateDirectory(_database.Directory);

        var error = Assert.Throws<OptionsValidationException>(() =>
            new SqliteBatonStore(new SqliteStoreOptions { Path = _database.Directory }, NullLogger<SqliteBatonStore>.Instance));

        Assert.Contains("is a directory", error.Message);
    }

    [Fact]
    public async Task InitializeAsync_DirectoryCannotBeCreated_ThrowsClearError()
    {
        Directory.CreateDirectory(_database.Directory);
        var file = Path.Combine(_database.Directory, "not-a-directory");
        await File.WriteAllTextAsync(file, "x");
        await using var store = Open(Path.Combine(file, "sub", "baton.db"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync());

        Assert.Contains("cannot create the directory", error.Message);
    }

    [Fact]
    public void Validate_BadBatchSizeAndTimeout_ReportsBoth()
    {
        var result = new SqliteStoreOptionsValidator().Validate(null, new SqliteStoreOptions
        {
            MaxBatchSize = 0, BusyTimeout = TimeSpan.Zero,
        });

        Assert.True(result.Failed);
        Assert.Contains("MaxBatchSize", result.FailureMessage);
        Assert.Contains("BusyTimeout", result.FailureMessage);
    }

    [Fact]
    public async Task Constructor_MaxBatchSizeOverTheLimit_ThrowsValidationError_AtTheLimitWrites()
    {
        // Before: any size was accepted. With 2147483647 (a batch "without limit") the writer's thread failed as it started
        // (its batch list could not be allocated): the store opened and its ping passed, but every write waited for ever.
        var error = Assert.Throws<OptionsValidationException>(() =>
            new SqliteBatonStore(new SqliteStoreOptions { Path = _database.NewPath(), MaxBatchSize = int.MaxValue }, NullLogger<SqliteBatonStore>.Instance));
        await using var store = new SqliteBatonStore(
            new SqliteStoreOptions { Path = _database.NewPath(), MaxBatchSize = 65_536 }, NullLogger<SqliteBatonStore>.Instance);
        var created = await store.Runs.CreateRunAsync(NewRun()).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Contains("MaxBatchSize must be 1 to 65536 (it is 2147483647)", error.Message, StringComparison.Ordinal);
        Assert.Equal(CreateRunOutcome.Created, created.Outcome);
    }

    [Fact]
    public void Validate_BadCheckpointSettings_ReportsEach()
    {
        var negative = new SqliteStoreOptionsValidator().Validate(null, new SqliteStoreOptions
        {
            CheckpointInterval = TimeSpan.FromMilliseconds(-1), WalBackstopPages = 999,
        });
        var tooLong = new SqliteStoreOptionsValidator().Validate(null, new SqliteStoreOptions
        {
            CheckpointInterval = TimeSpan.FromMinutes(11),
        });

        Assert.True(negative.Failed);
        Assert.Contains("CheckpointInterval must be between 0", negative.FailureMessage);
        Assert.Contains("WalBackstopPages must be at least 1000", negative.FailureMessage);
        Assert.True(tooLong.Failed);
        Assert.Contains("CheckpointInterval", tooLong.FailureMessage);
        Assert.True(new SqliteStoreOptionsValidator().Validate(null, new SqliteStoreOptions { CheckpointInterval = TimeSpan.Zero }).Succeeded);
    }

    [Fact]
    public async Task Metrics_Writes_CountOperationsCommitsAndBusyTime()
    {
        await using var store = Open(_database.NewPath());
        await store.InitializeAsync();
        using var totals = new MeterTotals(store.Metrics.Meter);

        // 20 writes at once (grouped into fewer commits) and 10 one after another (a commit each).
        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => store.Runs.CreateRunAsync(NewRun())));
        for (var i = 0; i < 10; i++)
        {
            await store.Runs.CreateRunAsync(NewRun());
        }

        // The writer counts a batch's operations (and its busy time) just after it has completed them.
        await Poll.UntilAsync(() => Task.FromResult(totals["baton.sqlite.writer.operations"]), n => n >= 30, "the last batch to be counted");
        Assert.Equal(30, totals["baton.sqlite.writer.operations"]);
        Assert.InRange(totals["baton.sqlite.writer.commits"], 11, 30);
        Assert.True(totals["baton.sqlite.writer.busy"] > 0, "the writer's busy time was not recorded");
    }

    [Fact]
    public async Task Readers_WhileWriterHoldsTransaction_AreNotBlocked()
    {
        await using var store = Open(_database.NewPath());
        var run = (await store.Runs.CreateRunAsync(NewRun())).Run;
        var (gate, entered) = (new TaskCompletionSource(), new TaskCompletionSource());
        var blocker = store.WriteAsync(ctx =>
        {
            ctx.Command("UPDATE runs SET phase = 'uncommitted'").ExecuteNonQuery();
            entered.TrySetResult();
            gate.Task.Wait();
            return 0;
        }, CancellationToken.None);
        await entered.Task;

        var read = await store.Runs.GetRunAsync(run.Id);
        gate.SetResult();
        await blocker;

        Assert.Null(read?.Phase);
        Assert.Equal("uncommitted", (await store.Runs.GetRunAsync(run.Id))?.Phase);
    }

    /// <summary>Gives run <paramref name="runId"/> <paramref name="rows"/> steps, attempts and events.</summary>
    private static async Task FillAsync(SqliteBatonStore store, string runId, int rows)
    {
        const string Numbers = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {0}) ";
        var numbers = string.Format(System.Globalization.CultureInfo.InvariantCulture, Numbers, rows);
        await WriterScalarAsync(store, numbers + $"INSERT INTO steps (run_id, key, kind, status, attempts, started_at, completed_at) SELECT '{runId}', 'items/' || i, 0, 1, 1, 0, 0 FROM n");
        await WriterScalarAsync(store, numbers + $"INSERT INTO step_attempts (run_id, step_key, attempt, started_at, ended_at, outcome) SELECT '{runId}', 'items/' || i, 1, 0, 0, 1 FROM n");
        await WriterScalarAsync(store, numbers + $"INSERT INTO run_events (run_id, name, stored_at) SELECT '{runId}', 'e', 0 FROM n");
    }

    /// <summary>The run's steps, attempts, events and retention notes, as <c>steps:attempts:events:notes</c>.</summary>
    private static async Task<string?> CountsAsync(SqliteBatonStore store, string runId) => (string?)await WriterScalarAsync(store, $"""
        SELECT (SELECT COUNT(*) FROM steps WHERE run_id = '{runId}') || ':' || (SELECT COUNT(*) FROM step_attempts WHERE run_id = '{runId}')
            || ':' || (SELECT COUNT(*) FROM run_events WHERE run_id = '{runId}') || ':' || (SELECT COUNT(*) FROM pruned_runs WHERE id = '{runId}')
        """);

    /// <summary>A logger whose provider throws on every warning or error, as a file logger on a full disk may.</summary>
    /// <summary>A connection of its own (outside Baton) to <paramref name="path"/> that has run <paramref name="sql"/>.</summary>
    private static async Task<Microsoft.Data.Sqlite.SqliteConnection> OutsideConnectionAsync(string path, string sql)
    {
        var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteScalarAsync();
        return connection;
    }

    /// <summary>The exception <paramref name="operation"/> fails with, and how long it took to.</summary>
    private static async Task<(Exception Error, TimeSpan Elapsed)> FailureAsync(Func<Task> operation)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var error = await Record.ExceptionAsync(() => operation().WaitAsync(TimeSpan.FromSeconds(60)));
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        Assert.NotNull(error);
        return (error, elapsed);
    }

    private static void AssertLocked(Exception error)
    {
        var locked = Assert.IsType<Microsoft.Data.Sqlite.SqliteException>(error);
        Assert.Equal(SQLitePCL.raw.SQLITE_BUSY, locked.SqliteErrorCode);
        Assert.Contains("locked", locked.Message, StringComparison.Ordinal);
    }

    private sealed class WarningThrowingLogger : Microsoft.Extensions.Logging.ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(
            Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= Microsoft.Extensions.Logging.LogLevel.Warning)
            {
                throw new IOException("No space left on device");
            }
        }
    }

    private sealed class OwnMeterFactory : System.Diagnostics.Metrics.IMeterFactory
    {
        private readonly List<System.Diagnostics.Metrics.Meter> _meters = [];

        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options)
        {
            var meter = new System.Diagnostics.Metrics.Meter(new System.Diagnostics.Metrics.MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
            _meters.Add(meter);
            return meter;
        }

        public void Dispose() => _meters.ForEach(m => m.Dispose());
    }
}
