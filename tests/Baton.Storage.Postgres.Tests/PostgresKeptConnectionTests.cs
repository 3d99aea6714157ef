using Baton.Runs;
using Baton.Storage.Postgres.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Baton.Storage.Postgres.Tests;

/// <summary>
/// The hot path's shortcuts: the plain insert for runs without keys, and the connections the writer and the claims
/// keep between uses (a server that drops them costs at most the one call in flight; the next one reconnects).
/// </summary>
public sealed class PostgresKeptConnectionTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly PostgresTestDatabase _database = new();
    private readonly string _application = "baton-kept-" + Guid.NewGuid().ToString("N")[..12];
    private PostgresBatonStore? _store;

    public Task InitializeAsync() => PostgresTestDatabase.EnsureDatabaseAsync();

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    /// <summary>A store whose connections carry this test's application name, so the test can end exactly its sessions.</summary>
    private async Task<PostgresBatonStore> StoreAsync()
    {
        _store = new PostgresBatonStore(
            new PostgresStoreOptions
            {
                ConnectionString = new NpgsqlConnectionStringBuilder(PostgresTestDatabase.ConnectionString)
                {
                    MaxPoolSize = 8,
                    ApplicationName = _application,
                }.ConnectionString,
                Schema = _database.NewSchema(),
            },
            TimeProvider.System,
            NullLogger.Instance);
        await _store.InitializeAsync();
        return _store;
    }

    private async Task<long> TerminateSessionsAsync()
    {
        await using var connection = new NpgsqlConnection(PostgresTestDatabase.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = @name", connection);
        command.Parameters.AddWithValue("name", _application);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static CreateRunRequest NewRun(string? leaseOwner = null) => new()
    {
        Id = Guid.CreateVersion7().ToString(), Workflow = "wf", Input = "{\"n\":1}", CorrelationId = "c-1", Now = T0,
        LeaseOwner = leaseOwner, LeaseExpiresAt = leaseOwner is null ? null : T0.AddMinutes(5), WorkflowVersion = 2,
        TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    };

    private static ClaimRunsRequest Claim(int max = 10) => new() { Owner = "node-a", MaxRuns = max, Now = T0, LeaseExpiresAt = T0.AddMinutes(5) };

    [Fact]
    public async Task CreateRunAsync_PlainRunWithLease_ReturnsWhatIsStored()
    {
        var store = await StoreAsync();

        var created = await store.Runs.CreateRunAsync(NewRun(leaseOwner: "node-a"));

        Assert.Equal(CreateRunOutcome.Created, created.Outcome);
        Assert.Equal(RunStatus.Running, created.Run.Status);
        Assert.Equal(1, created.Run.Executions);
        Assert.Equal(T0, created.Run.StartedAt);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(created.Run), System.Text.Json.JsonSerializer.Serialize(await store.Runs.GetRunAsync(created.Run.Id)));
    }

    [Fact]
    public async Task CreateRunAsync_PlainRunWithTakenId_FailsAndKeepsFirstRun()
    {
        var store = await StoreAsync();
        var first = await store.Runs.CreateRunAsync(NewRun());

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.Runs.CreateRunAsync(NewRun() with { Id = first.Run.Id, Input = "{\"n\":2}" }));

        Assert.Contains(first.Run.Id, error.Message, StringComparison.Ordinal);
        Assert.Equal("{\"n\":1}", (await store.Runs.GetRunAsync(first.Run.Id))?.Input);
    }

    [Fact]
    public async Task ClaimRunsAsync_KeptConnectionEndedByServer_NextClaimReconnects()
    {
        var store = await StoreAsync();
        Assert.Empty(await store.Runs.ClaimRunsAsync(Claim()));
        var run = await store.Runs.CreateRunAsync(NewRun());

        Assert.True(await TerminateSessionsAsync() > 0, "no session of the store was found to end");
        // The claim in flight on the dropped connection may fail (as on any dropped connection); the next one works.
        IReadOnlyList<RunRecord> claimed;
        try
        {
            claimed = await store.Runs.ClaimRunsAsync(Claim());
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            claimed = await store.Runs.ClaimRunsAsync(Claim());
        }

        Assert.Equal(run.Run.Id, Assert.Single(claimed).Id);
    }

    [Fact]
    public async Task UpdateRunAsync_WriterConnectionEndedByServer_NextWriteReconnects()
    {
        var store = await StoreAsync();
        var run = await store.Runs.CreateRunAsync(NewRun(leaseOwner: "node-a"));

        Assert.True(await TerminateSessionsAsync() > 0, "no session of the store was found to end");
        var update = new UpdateRunRequest { RunId = run.Run.Id, Owner = "node-a", Now = T0.AddSeconds(1), Phase = "after" };
        bool updated;
        try
        {
            updated = await store.Runs.UpdateRunAsync(update);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            updated = await store.Runs.UpdateRunAsync(update);
        }

        Assert.True(updated);
        Assert.Equal("after", (await store.Runs.GetRunAsync(run.Run.Id))?.Phase);
    }
}
