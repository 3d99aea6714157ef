using System.Net;
using Baton.Server.Tests.Infrastructure;
using Npgsql;

namespace Baton.Server.Tests.Configuration;

/// <summary>The server on the PostgreSQL store (the test script starts PostgreSQL on 127.0.0.1).</summary>
public sealed class PostgresStoreServerTests
{
    private static string ConnectionString =>
        Environment.GetEnvironmentVariable("BATON_POSTGRES") is { Length: > 0 } configured
            ? configured
            : "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres;Database=postgres";

    private static Task<InProcessServer> StartOnSchemaAsync(string schema) => InProcessServer.StartAsync(new Dictionary<string, string>
    {
        ["BATON_STORE"] = "postgres",
        ["BATON_POSTGRES"] = ConnectionString,
        ["Baton:Store:Postgres:Schema"] = schema,
    });

    [Fact]
    public async Task Server_PostgresProvider_RunsDemoToCompletion()
    {
        var schema = $"srv_{Guid.NewGuid():N}"[..30];
        try
        {
            await using var server = await StartOnSchemaAsync(schema);

            var (status, body) = await server.StartRunAsync("demo", """{"items":3,"delayMs":1}""");
            var run = await server.WaitForStatusAsync(body.GetProperty("id").GetString()!, "succeeded", "failed");
            var health = await server.Anonymous.GetAsync(new Uri(server.BaseAddress, "/health"));

            Assert.Equal(HttpStatusCode.Accepted, status);
            Assert.Equal("succeeded", run.GetProperty("status").GetString());
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.DoesNotContain("Password=", server.Logs.AllText(), StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            await DropSchemaAsync(schema);
        }
    }

    [Fact]
    public async Task Metrics_PostgresProvider_ExposesWriterAndNpgsqlMeters()
    {
        var schema = $"srv_{Guid.NewGuid():N}"[..30];
        try
        {
            await using var server = await StartOnSchemaAsync(schema);
            var (_, body) = await server.StartRunAsync("demo", """{"items":3,"delayMs":1}""");
            await server.WaitForStatusAsync(body.GetProperty("id").GetString()!, "succeeded");

            // The writer counts a batch's commit before its callers see it, and its operations just after.
            var exposition = await Poll.UntilAsync(
                async () => PrometheusText.Parse(await server.Anonymous.GetStringAsync("/metrics")),
                e => e.Named("baton_postgres_writer_operations_total").Single().Value >= e.Named("baton_postgres_writer_commits_total").Single().Value,
                "the writer's operations to be counted");

            var commits = exposition.Named("baton_postgres_writer_commits_total").Single().Value;
            Assert.True(commits > 0, "the PostgreSQL writer's commits were not counted");
            Assert.True(exposition.Named("baton_postgres_writer_operations_total").Single().Value >= commits);
            Assert.True(exposition.Named("baton_postgres_writer_busy_seconds_total").Single().Value > 0);
            Assert.Contains(exposition.Types.Keys, k => k.StartsWith("db_client_", StringComparison.Ordinal));
            Assert.False(exposition.Types.ContainsKey("baton_sqlite_writer_commits_total"), "the SQLite store's metrics on a PostgreSQL server");
        }
        finally
        {
            await DropSchemaAsync(schema);
        }
    }

    [Fact]
    public async Task Health_StoreFailsAtRuntime_Returns503AndLogsTheExceptionWithItsStackTrace()
    {
        var schema = $"srv_{Guid.NewGuid():N}"[..30];
        await using var server = await InProcessServer.StartAsync(new Dictionary<string, string>
        {
            ["BATON_STORE"] = "postgres",
            ["BATON_POSTGRES"] = ConnectionString,
            ["Baton:Store:Postgres:Schema"] = schema,
            ["Baton:Engine:RunWorker"] = "false",
        });
        // The store's tables vanish under the running server: every read it makes fails from now on.
        await DropSchemaAsync(schema);

        using var response = await server.Anonymous.GetAsync("/health");
        var body = await InProcessServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("unreachable", body.GetProperty("store").GetProperty("status").GetString());
        var logged = Assert.Single(server.Logs.Entries, e => e.EventId == 1300);
        Assert.Contains("PostgresException", logged.Exception, StringComparison.Ordinal);
        Assert.Contains("   at Baton.", logged.Exception, StringComparison.Ordinal);
        Assert.DoesNotContain("Password=", server.Logs.AllText(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Server_PostgresUnreachable_StartFailsNamingHostWithoutPassword()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => InProcessServer.StartAsync(new Dictionary<string, string>
        {
            ["BATON_STORE"] = "postgres",
            ["BATON_POSTGRES"] = "Host=127.0.0.1;Port=1;Username=postgres;Password=hunter2-secret;Database=postgres;Timeout=3",
        }));

        Assert.Contains("127.0.0.1:1", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-secret", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_WriterConnectionsOverHalfThePool_StartFailsNamingTheLimit()
    {
        // The setting reaches the store's options: two writer connections do not fit a pool of 3, which the store refuses at start.
        var error = await Assert.ThrowsAnyAsync<Exception>(() => InProcessServer.StartAsync(new Dictionary<string, string>
        {
            ["BATON_STORE"] = "postgres",
            ["BATON_POSTGRES"] = ConnectionString + ";Maximum Pool Size=3",
            ["Baton:Store:Postgres:Schema"] = $"srv_{Guid.NewGuid():N}"[..30],
            ["Baton:Store:Postgres:WriterConnections"] = "2",
        }));

        Assert.Contains("WriterConnections (2) may use at most half of the connection pool (Maximum Pool Size 3): at most 1.", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_TwoWriterConnections_RunsDemoToCompletion()
    {
        var schema = $"srv_{Guid.NewGuid():N}"[..30];
        try
        {
            await using var server = await InProcessServer.StartAsync(new Dictionary<string, string>
            {
                ["BATON_STORE"] = "postgres",
                ["BATON_POSTGRES"] = ConnectionString,
                ["Baton:Store:Postgres:Schema"] = schema,
                ["Baton:Store:Postgres:WriterConnections"] = "2",
            });

            var (_, body) = await server.StartRunAsync("demo", """{"items":3,"delayMs":1}""");
            var run = await server.WaitForStatusAsync(body.GetProperty("id").GetString()!, "succeeded", "failed");

            Assert.Equal("succeeded", run.GetProperty("status").GetString());
        }
        finally
        {
            await DropSchemaAsync(schema);
        }
    }

    [Fact]
    public async Task TwoNodes_StartedAsTheReadmeShows_EachLeasesUnderItsOwnNodeId()
    {
        // The README's "Several nodes on PostgreSQL" block: the variables its export line sets, then one command per node,
        // each started as written from the same server folder (the password, key and ports are the test's). Before
        // (review 81): one command and "a second node: same BATON_STORE/BATON_POSTGRES, another BATON_PORT", which gave
        // both processes the same default node id, so the second leased under "<id>-<suffix>" with a warning (505).
        var block = ReadmeBlock("## Several nodes on PostgreSQL");
        var shared = Assignments(block.Single(l => l.StartsWith("export ", StringComparison.Ordinal))["export ".Length..]);
        var nodes = block.Where(l => l.Contains("dotnet run", StringComparison.Ordinal))
            .Select(l => Assignments(l[..l.IndexOf("dotnet run", StringComparison.Ordinal)]))
            .ToList();
        Assert.Equal(["ADMIN_KEY", "BATON_POSTGRES", "BATON_STORE"], shared.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2, nodes.Count);

        var schema = $"srv_{Guid.NewGuid():N}"[..30];
        var servers = new List<ServerProcess>();
        try
        {
            foreach (var node in nodes)
            {
                var environment = new Dictionary<string, string?>(shared.Concat(node).Where(v => v.Key != "BATON_PORT").Select(v => KeyValuePair.Create(v.Key, (string?)v.Value)))
                {
                    ["BATON_POSTGRES"] = ConnectionString,
                    ["ADMIN_KEY"] = "readme-nodes-key-0123456789",
                    ["Baton__Store__Postgres__Schema"] = schema,
                };
                var server = ServerProcess.Start(environment);
                servers.Add(server);
                await server.WaitForLiveAsync();
            }

            Assert.All(servers, s => Assert.DoesNotContain("is held by another live process", s.Output, StringComparison.Ordinal));
            var ids = nodes.Select(n => n["Baton__Engine__NodeId"]).ToArray();
            using var client = servers[0].NewClient(null);
            var listed = await Poll.UntilAsync(
                async () => System.Text.Json.JsonDocument.Parse(await client.GetStringAsync("/health")).RootElement
                    .GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("nodeId").GetString()!).Order(StringComparer.Ordinal).ToArray(),
                l => l.Length == 2,
                "both nodes in the registry");
            Assert.Equal(ids.Order(StringComparer.Ordinal), listed);
        }
        finally
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }

            await DropSchemaAsync(schema);
        }
    }

    /// <summary>The lines of the first bash block after <paramref name="heading"/> in the README.</summary>
    private static string[] ReadmeBlock(string heading)
    {
        var readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md")).ReplaceLineEndings("\n");
        var open = readme.IndexOf("```bash\n", readme.IndexOf(heading, StringComparison.Ordinal), StringComparison.Ordinal) + "```bash\n".Length;
        return readme[open..readme.IndexOf("\n```", open, StringComparison.Ordinal)].Split('\n');
    }

    /// <summary>The <c>NAME=value</c> words of a shell line (a value in single quotes may hold spaces).</summary>
    private static Dictionary<string, string> Assignments(string line) =>
        System.Text.RegularExpressions.Regex.Matches(line, @"([A-Za-z_][A-Za-z0-9_]*)=('[^']*'|\S+)")
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Trim('\''));

    private static async Task DropSchemaAsync(string schema)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
