using Baton.Storage.Postgres.Internal;
using Baton.Testing;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Baton.Storage.Postgres.Tests;

/// <summary>
/// Each heartbeat compares the node's clock with the PostgreSQL server's: leases are compared with each node's own clock,
/// so a node far ahead takes live nodes' runs, and before this nothing said why.
/// </summary>
public sealed class PostgresClockCheckTests : IAsyncLifetime
{
    private readonly PostgresTestDatabase _database = new();
    private readonly CapturingLoggerProvider _logs = new();
    private PostgresBatonStore _store = null!;

    public async Task InitializeAsync()
    {
        await PostgresTestDatabase.EnsureDatabaseAsync();
        _store = _database.Own(new PostgresBatonStore(
            new PostgresStoreOptions
            {
                ConnectionString = new NpgsqlConnectionStringBuilder(PostgresTestDatabase.ConnectionString) { MaxPoolSize = 4 }.ConnectionString,
                Schema = _database.NewSchema(),
            },
            TimeProvider.System,
            _logs.CreateLogger("store")));
        await _store.InitializeAsync();
    }

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task HeartbeatNodeAsync_NodeClockAMinuteAhead_WarnsOnceNamingTheSkewThenSaysWhenItIsBack()
    {
        await BeatAsync(TimeSpan.FromMinutes(1));
        await BeatAsync(TimeSpan.FromMinutes(1));
        await BeatAsync(TimeSpan.Zero);

        var warning = Assert.Single(_logs.Entries, e => e.EventId == 5208);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("node-a's clock is", warning.Message, StringComparison.Ordinal);
        Assert.Contains("s ahead of the PostgreSQL server's", warning.Message, StringComparison.Ordinal);
        var seconds = double.Parse(warning.Values.Single(v => v.StartsWith("Seconds=", StringComparison.Ordinal))["Seconds=".Length..], System.Globalization.CultureInfo.CurrentCulture);
        Assert.InRange(seconds, 58, 62);
        Assert.Single(_logs.Entries, e => e.EventId == 5209);
    }

    [Fact]
    public async Task HeartbeatNodeAsync_NodeClockInStepWithTheServer_NothingLogged()
    {
        await BeatAsync(TimeSpan.Zero);
        await BeatAsync(TimeSpan.FromSeconds(1));

        Assert.DoesNotContain(_logs.Entries, e => e.EventId is 5208 or 5209);
    }

    [Fact]
    public void Observe_BehindThenFurtherBehind_WarnsAgainOnlyWhenTheSkewMovesPastTheTolerance()
    {
        var logs = new CapturingLoggerProvider();
        var check = new PostgresClockCheck(logs.CreateLogger("store"));
        var server = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

        var skew = check.Observe("node-a", server.AddSeconds(-30), server);
        check.Observe("node-a", server.AddSeconds(-33), server);
        check.Observe("node-a", server.AddSeconds(-40), server);

        Assert.Equal(TimeSpan.FromSeconds(-30), skew);
        Assert.Equal(
            ["Node node-a's clock is 30.0 s behind", "Node node-a's clock is 40.0 s behind"],
            logs.Entries.Where(e => e.EventId == 5208).Select(e => e.Message[..36]));
    }

    /// <summary>
    /// A clock that hovers at the tolerance (each heartbeat's estimate differs by a little round trip) is reported once, not
    /// reported then back at every heartbeat: before, 5.2 s, 4.8 s, 5.2 s, 4.8 s, 5.2 s logged three warnings and two
    /// "back" lines. It is back once it comes within half the tolerance.
    /// </summary>
    [Fact]
    public void Observe_SkewWithinTheRoundTripsUncertainty_NotReported()
    {
        // A heartbeat whose upsert took 24 s (a lock wait, a stalled flush): the server read its clock anywhere in those 24 s,
        // so a 12 s difference says nothing of the node's clock. Before, it was reported as 12 s ahead.
        var logs = new CapturingLoggerProvider();
        var check = new PostgresClockCheck(logs.CreateLogger("store"));
        var server = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

        check.Observe("node-a", server.AddSeconds(12), server, uncertainty: TimeSpan.FromSeconds(12));
        var quietAfterSlowBeat = logs.Entries.Count;
        check.Observe("node-a", server.AddSeconds(12), server, uncertainty: TimeSpan.FromMilliseconds(2));

        Assert.Equal(0, quietAfterSlowBeat);
        Assert.Single(logs.Entries, e => e.EventId == 5208);
    }

    [Fact]
    public void Observe_SkewHoveringAtTheTolerance_WarnsOnceAndSaysBackOnlyWhenWellWithin()
    {
        var logs = new CapturingLoggerProvider();
        var check = new PostgresClockCheck(logs.CreateLogger("store"));
        var server = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

        foreach (var seconds in new[] { 5.2, 4.8, 5.2, 4.8, 5.2, 3.0 })
        {
            check.Observe("node-a", server.AddSeconds(seconds), server);
        }

        Assert.Single(logs.Entries, e => e.EventId == 5208);
        Assert.DoesNotContain(logs.Entries, e => e.EventId == 5209);
        check.Observe("node-a", server.AddSeconds(1), server);
        Assert.Equal(
            [5208, 5209],
            logs.Entries.Where(e => e.EventId is 5208 or 5209).Select(e => e.EventId));
    }

    private Task BeatAsync(TimeSpan ahead)
    {
        var now = DateTimeOffset.UtcNow + ahead;
        return _store.Nodes.HeartbeatNodeAsync(new NodeHeartbeatRequest
        {
            NodeId = "node-a", Host = "host", ProcessId = 1, Version = "1", Workflows = [], StartedAt = now, Now = now,
        });
    }
}
