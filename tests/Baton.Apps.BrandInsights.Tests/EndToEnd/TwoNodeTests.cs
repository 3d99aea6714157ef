using System.Text.Json;
using Baton.Apps.BrandInsights.Tests.Infrastructure;
using Baton.Simulators.BrandWorkers;
using Npgsql;
using StackExchange.Redis;

namespace Baton.Apps.BrandInsights.Tests.EndToEnd;

/// <summary>Two server processes on one PostgreSQL store and one Redis: one brand merged by one run at a time, summaries correct.</summary>
public sealed class TwoNodeTests : PrivateRedisTests
{
    [Fact]
    public async Task TwoServers_OnePostgresStore_NoBrandMergedByBothAtOnceAndSummariesCorrect()
    {
        var postgres = await NewDatabaseAsync();
        var db = Db;
        var generator = await RegisterBrandsAsync(db, new BrandChunkSettings { Brands = 8, Chunks = 16_000, Bad = 0.02, Duplicates = 0.03, Seed = 31, BrandPrefix = "pair-" });
        await using var first = await BrandServer.StartAsync(BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-a", postgres));
        await using var second = await BrandServer.StartAsync(BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-b", postgres));
        // /health answers before a server's list trigger runs. On a loaded machine the first took every brand's lease
        // before the second's trigger started, and the 2 s of pushing ended before leases were rebalanced, so the first
        // merged every batch (a CI failure, "both servers merged some batches"). The push waits for both to own brands.
        await Poll.UntilAsync(
            async () => (await Task.WhenAll(generator.BrandNames.Select(b => db.StringGetAsync("baton:brand-insights:owner:" + b))))
                .Where(o => o.HasValue).Select(o => (string)o!).Distinct().Count(),
            owners => owners == 2,
            "both servers owning brands");

        await BrandWorkersSimulator.PushAsync(db, generator, rate: 8_000);

        await Expectations.WaitUntilAllMatchAsync(db, generator, TimeSpan.FromSeconds(150));
        await Expectations.AssertExactlyOnceAsync(db, generator);
        var runs = await ReadRunsAsync(postgres);
        Assert.All(runs, r => Assert.Equal((int)Baton.Runs.RunStatus.Succeeded, r.Status));
        foreach (var brand in runs.GroupBy(r => r.Brand))
        {
            // Ties on the start (same timestamp) order by end, so a zero-length merge is not read as overlapping its neighbour.
            var ordered = brand.OrderBy(r => r.Started).ThenBy(r => r.Completed).ToList();
            for (var i = 1; i < ordered.Count; i++)
            {
                Assert.True(ordered[i].Started >= ordered[i - 1].Completed, $"{brand.Key}: merge {i} started at {ordered[i].Started:O} before merge {i - 1} ended at {ordered[i - 1].Completed:O}");
            }
        }

        Assert.Contains("orchestrator_chunks_processed_total", await first.MetricsAsync(), StringComparison.Ordinal);
        var (byFirst, bySecond) = (await ProcessedAsync(first), await ProcessedAsync(second));
        Assert.True(byFirst > 0 && bySecond > 0, $"both servers merged some batches (first {byFirst}, second {bySecond})");
    }

    [Fact]
    public async Task TwoServers_SameNodeIdNoOrchestratorId_SecondUsesItsOwnConsumerIdAndNoChunkLost()
    {
        var postgres = await NewDatabaseAsync();
        var db = Db;
        var generator = await RegisterBrandsAsync(db, new BrandChunkSettings { Brands = 6, Chunks = 12_000, Bad = 0.02, Duplicates = 0.03, Seed = 37, BrandPrefix = "twin-" });
        // Two processes of one host and directory with no ORCHESTRATOR_ID: the same node id. The engine leases the
        // second under a name of its own; its Redis consumer (processing lists, brand leases) must follow that name.
        Dictionary<string, string?> Twin() => new(BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "unused", postgres))
        {
            ["ORCHESTRATOR_ID"] = null,
            ["Baton__Engine__NodeId"] = "brand-twin",
        };
        await using var first = await BrandServer.StartAsync(Twin());
        await using var second = await BrandServer.StartAsync(Twin());
        await Poll.UntilAsync(
            async () => (await db.SetMembersAsync("baton:consumers")).Select(v => (string)v!).ToList(),
            c => c.Count == 2,
            "two Redis consumers");

        await BrandWorkersSimulator.PushAsync(db, generator, rate: 8_000);

        await Expectations.WaitUntilAllMatchAsync(db, generator, TimeSpan.FromSeconds(150));
        await Expectations.AssertExactlyOnceAsync(db, generator);
        var consumers = (await db.SetMembersAsync("baton:consumers")).Select(v => (string)v!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal("brand-twin", consumers[0]);
        Assert.StartsWith("brand-twin-", consumers[1], StringComparison.Ordinal);
        // Baton's /health names each process as the node registry does: the second by the name it leases under.
        var healthIds = new List<string>();
        foreach (var server in new[] { first, second })
        {
            using var api = server.ApiClient();
            healthIds.Add(JsonDocument.Parse(await api.GetStringAsync(new Uri("/health", UriKind.Relative))).RootElement.GetProperty("nodeId").GetString()!);
        }

        Assert.Equal(consumers, healthIds.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task TwoServers_SameOrchestratorIdAsTheSeedsEnvExample_SecondStopsBeforeTakingAChunkAndNoneIsLost()
    {
        // The seed's .env.example sets ORCHESTRATOR_ID=orchestrator-1 and it tells you to run several containers. Before:
        // both consumed under that id, sharing processing lists and leases, and 15 of 3,000 chunks were never merged.
        var postgres = await NewDatabaseAsync();
        var db = Db;
        var generator = await RegisterBrandsAsync(db, new BrandChunkSettings { Brands = 4, Chunks = 3_000, Bad = 0.02, Duplicates = 0.03, Seed = 41, BrandPrefix = "seedenv-" });
        // The second process tells the live first one from a crashed predecessor after one and a half heartbeats (7.5 s).
        Dictionary<string, string?> Same() => BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-1", postgres);
        await using var first = await BrandServer.StartAsync(Same());
        // The first's trigger has written its heartbeat (its /health can answer before that; two starting at once both
        // see no heartbeat, and then whichever writes second stops: this test wants that to be the second process).
        await Poll.UntilAsync(() => db.KeyExistsAsync("baton:consumer:orchestrator-1"), exists => exists, "the first process's heartbeat");
        await using var second = await BrandServer.StartAsync(Same(), waitForHealth: false);

        var exit = await second.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        await BrandWorkersSimulator.PushAsync(db, generator, rate: 8_000);
        await Expectations.WaitUntilAllMatchAsync(db, generator, TimeSpan.FromSeconds(150));
        await Expectations.AssertExactlyOnceAsync(db, generator);

        // The JSON log escapes the quotes around the id; the Critical line (EventId 5023) names it.
        Assert.Contains(second.Process.StdoutLines, l => l.Contains("\"EventId\":5023", StringComparison.Ordinal) && l.Contains("orchestrator-1", StringComparison.Ordinal));
        Assert.True(exit != 0, $"the second server exited with {exit}");
        Assert.False(first.Process.HasExited);
        Assert.Equal(["orchestrator-1"], (await db.SetMembersAsync("baton:consumers")).Select(v => (string)v!));
    }

    /// <summary>A new PostgreSQL database on <c>BATON_POSTGRES</c>'s server, for the two servers to share.</summary>
    private static async Task<string> NewDatabaseAsync()
    {
        var postgres = new NpgsqlConnectionStringBuilder(
            Environment.GetEnvironmentVariable("BATON_POSTGRES") is { Length: > 0 } fromEnv ? fromEnv : "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres")
        {
            Database = "baton_brand_" + Guid.NewGuid().ToString("N")[..12],
        }.ConnectionString;
        await PostgresDatabases.EnsureAsync(postgres);
        return postgres;
    }

    private static async Task<BrandChunkGenerator> RegisterBrandsAsync(IDatabase db, BrandChunkSettings settings)
    {
        var generator = new BrandChunkGenerator(settings);
        await BrandWorkersSimulator.RegisterBrandsAsync(db, generator.BrandNames, asList: false);
        return generator;
    }

    private static async Task<long> ProcessedAsync(BrandServer server) =>
        (await server.MetricsAsync()).Split('\n')
            .Where(l => l.StartsWith("orchestrator_chunks_processed_total{", StringComparison.Ordinal))
            .Sum(l => long.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));

    private static async Task<List<(string Brand, int Status, DateTime Started, DateTime Completed)>> ReadRunsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        // The merge attempts' own start and end (a run's created/completed stamps are taken outside the store's transaction).
        await using var command = new NpgsqlCommand(
            "SELECT r.concurrency_key, r.status, a.started_at, a.ended_at FROM baton.runs r JOIN baton.step_attempts a ON a.run_id = r.id WHERE r.workflow = 'brand-merge'",
            connection);
        await using var reader = await command.ExecuteReaderAsync();
        var runs = new List<(string, int, DateTime, DateTime)>();
        while (await reader.ReadAsync())
        {
            runs.Add((reader.GetString(0), reader.GetInt32(1), reader.GetDateTime(2), reader.GetDateTime(3)));
        }

        Assert.NotEmpty(runs);
        return runs;
    }
}
