using System.Net;
using System.Text.Json;
using Baton.Hosting;
using Baton.Storage;
using Baton.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Baton.Server.Tests.Health;

public sealed class HealthEndpointsTests
{
    [Fact]
    public async Task Healthz_Always_Returns200Ok()
    {
        await using var server = await InProcessServer.StartAsync();

        using var response = await server.Anonymous.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("OK", await response.Content.ReadAsStringAsync());
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Head_OnGetRoutes_AnswersAsGetWithoutABody()
    {
        // Before: 405 on /health, /metrics and /api/*, whose routes are mapped for GET only (a monitor's or a proxy's HEAD).
        await using var server = await InProcessServer.StartAsync();

        foreach (var (client, path, status) in new[]
        {
            (server.Anonymous, "/healthz", HttpStatusCode.OK),
            (server.Anonymous, "/health", HttpStatusCode.OK),
            (server.Anonymous, "/metrics", HttpStatusCode.OK),
            (server.Client, "/api/runs", HttpStatusCode.OK),
            (server.Anonymous, "/api/runs", HttpStatusCode.Unauthorized),
            (server.Client, "/api/runs/no-such-run", HttpStatusCode.NotFound),
        })
        {
            using var get = await client.GetAsync(path);
            using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));

            Assert.True(head.StatusCode == status && get.StatusCode == status, $"{path}: GET {(int)get.StatusCode}, HEAD {(int)head.StatusCode}");
            Assert.Equal(get.Content.Headers.ContentType?.MediaType, head.Content.Headers.ContentType?.MediaType);
            Assert.NotEmpty(await get.Content.ReadAsByteArrayAsync());
            Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        }

        // A route of another method stays refused.
        using var cancel = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/api/runs/no-such-run/cancel"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, cancel.StatusCode);
    }

    [Fact]
    public async Task Health_StoreAndWorkerUp_ReportsReady()
    {
        await using var server = await InProcessServer.StartAsync();

        using var response = await server.Anonymous.GetAsync("/health");
        var body = await InProcessServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ready", body.GetProperty("status").GetString());
        Assert.Equal("ok", body.GetProperty("store").GetProperty("status").GetString());
        Assert.True(body.GetProperty("worker").GetProperty("running").GetBoolean());
        Assert.True(body.GetProperty("uptimeSeconds").GetDouble() >= 0);
        Assert.Matches(@"^\d+\.\d+\.\d+", body.GetProperty("version").GetString());
    }

    [Fact]
    public async Task Health_Ready_HasTheFieldsTheReadmeNames()
    {
        // Before (review 81): the README's /health row named {status, store, worker, uptimeSeconds, version, nodeId}; the
        // answer also has nodes, the live node registry, which only a later section mentioned.
        await using var server = await InProcessServer.StartAsync();

        using var response = await server.Anonymous.GetAsync("/health");
        var fields = (await InProcessServer.ReadJsonAsync(response)).EnumerateObject().Select(p => p.Name);
        var readme = await File.ReadAllTextAsync(Path.Combine(TestPaths.RepoRoot, "README.md"));
        var row = readme.Split('\n').Single(l => l.StartsWith("| `GET /health` |", StringComparison.Ordinal));
        var open = row.IndexOf("| `{", StringComparison.Ordinal) + "| `{".Length;
        var documented = row[open..row.IndexOf("}`", open, StringComparison.Ordinal)].Split(", ");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(fields.Order(StringComparer.Ordinal), documented.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Health_NodeIdNotConfigured_IsHostAndHashOfTheContentRootNotOfTheWorkingDirectory()
    {
        await using var server = await InProcessServer.StartAsync();

        using var response = await server.Anonymous.GetAsync("/health");
        var nodeId = (await InProcessServer.ReadJsonAsync(response)).GetProperty("nodeId").GetString();

        // The test's content root is a temporary directory; its working directory is the test output folder.
        Assert.Equal(BatonOptions.DefaultNodeId(Environment.MachineName, server.Directory), nodeId);
        Assert.NotEqual(BatonOptions.DefaultNodeId(Environment.MachineName, Environment.CurrentDirectory), nodeId);
    }

    [Fact]
    public async Task Health_Uptime_CountsFromServerStartNotFromTheFirstRequest()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await InProcessServer.StartAsync(configure: (builder, _) => builder.Services.AddSingleton<TimeProvider>(time));

        time.Advance(TimeSpan.FromSeconds(90));
        using var first = await server.Anonymous.GetAsync("/health");
        var firstUptime = (await InProcessServer.ReadJsonAsync(first)).GetProperty("uptimeSeconds").GetDouble();
        time.Advance(TimeSpan.FromSeconds(30));
        using var second = await server.Anonymous.GetAsync("/health");
        var secondUptime = (await InProcessServer.ReadJsonAsync(second)).GetProperty("uptimeSeconds").GetDouble();

        Assert.Equal(90, firstUptime);
        Assert.Equal(120, secondUptime);
    }

    [Fact]
    public async Task Health_Version_IsTheVersionThisNodeRegisters()
    {
        await using var server = await InProcessServer.StartAsync();
        var selfId = server.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<BatonOptions>>().Value.NodeId;

        var body = await Poll.UntilAsync(
            async () =>
            {
                using var response = await server.Anonymous.GetAsync("/health");
                return await InProcessServer.ReadJsonAsync(response);
            },
            b => b.GetProperty("nodes").EnumerateArray().Any(n => n.GetProperty("nodeId").GetString() == selfId),
            "this node in /health nodes");
        var self = body.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("nodeId").GetString() == selfId);

        Assert.Matches(@"^\d+\.\d+\.\d+", body.GetProperty("version").GetString());
        Assert.Equal(body.GetProperty("version").GetString(), self.GetProperty("version").GetString());
    }

    [Fact]
    public async Task Health_WorkerStopped_Returns503()
    {
        await using var server = await InProcessServer.StartAsync();
        var worker = server.Services.GetServices<IHostedService>().OfType<IBatonWorkerStatus>().Single();

        await ((IHostedService)worker).StopAsync(CancellationToken.None);
        using var response = await server.Anonymous.GetAsync("/health");
        var body = await InProcessServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("not_ready", body.GetProperty("status").GetString());
        Assert.False(body.GetProperty("worker").GetProperty("running").GetBoolean());
        Assert.Equal("ok", body.GetProperty("store").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Health_WorkerDisabledByConfig_IsStillReady()
    {
        await using var server = await InProcessServer.StartAsync(new Dictionary<string, string> { ["Baton:Engine:RunWorker"] = "false" });

        using var response = await server.Anonymous.GetAsync("/health");
        var body = await InProcessServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(body.GetProperty("worker").GetProperty("enabled").GetBoolean());
        Assert.Equal(JsonValueKind.False, body.GetProperty("worker").GetProperty("running").ValueKind);
    }

    [Fact]
    public async Task Health_NodeRegistry_ListsLiveNodesOnly()
    {
        await using var server = await InProcessServer.StartAsync();
        var store = server.Services.GetRequiredService<IBatonStore>();
        var now = DateTimeOffset.UtcNow;
        foreach (var (id, heartbeat) in new[] { ("other-live", now), ("other-dead", now.AddMinutes(-5)) })
        {
            await store.Nodes.HeartbeatNodeAsync(new NodeHeartbeatRequest
            {
                NodeId = id, Host = "elsewhere", ProcessId = 7, Version = "9.9.9", Workflows = ["demo"], StartedAt = now.AddHours(-1), Now = heartbeat,
            });
        }

        var (selfId, nodes) = await LiveNodesAsync(server);

        Assert.Equal(new[] { "other-live", selfId }.Order(StringComparer.Ordinal), nodes.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(Environment.ProcessId, nodes[selfId].GetProperty("processId").GetInt32());
        Assert.Contains("demo", nodes[selfId].GetProperty("workflows").EnumerateArray().Select(w => w.GetString()));
        Assert.Equal("elsewhere", nodes["other-live"].GetProperty("host").GetString());
    }

    [Fact]
    public async Task Health_NodesOfAMixedVersionDeploy_ListTheVersionsEachNodeExecutesBesideTheirWorkflows()
    {
        // Before: only "workflows" (names), so a v1 node and a v2 node that resumes v1 looked alike.
        await using var server = await InProcessServer.StartAsync(configure: (_, baton) => baton.AddWorkflow<int, int>(
            "orders", (_, i, _) => Task.FromResult(i), o => { o.Version = 2; o.ResumesVersions = [1]; }));
        var store = server.Services.GetRequiredService<IBatonStore>();
        var now = DateTimeOffset.UtcNow;
        await store.Nodes.HeartbeatNodeAsync(new NodeHeartbeatRequest
        {
            NodeId = "orders-v1", Host = "elsewhere", ProcessId = 7, Version = "9.9.9", Workflows = ["orders"],
            WorkflowVersions = [new NodeWorkflowVersions("orders", 1, [])], StartedAt = now.AddHours(-1), Now = now,
        });
        // A node that recorded no versions (one of an earlier Baton).
        await store.Nodes.HeartbeatNodeAsync(new NodeHeartbeatRequest
        {
            NodeId = "older-baton", Host = "elsewhere", ProcessId = 8, Version = "0.0.9", Workflows = ["orders"], StartedAt = now.AddHours(-1), Now = now,
        });

        var (selfId, nodes) = await LiveNodesAsync(server);

        Assert.Equal("""[{"name":"orders","version":2,"resumesVersions":[1]}]""", Versions(nodes[selfId]));
        Assert.Equal("""[{"name":"orders","version":1,"resumesVersions":[]}]""", Versions(nodes["orders-v1"]));
        Assert.Equal("null", Versions(nodes["older-baton"]));
        // The fields clients already read keep their shapes: "workflows" is still the list of names.
        Assert.Equal(["orders"], nodes["orders-v1"].GetProperty("workflows").EnumerateArray().Select(w => w.GetString()));
        Assert.Contains("orders", nodes[selfId].GetProperty("workflows").EnumerateArray().Select(w => w.GetString()));
        Assert.Equal(
            ["nodeId", "host", "processId", "version", "workflows", "startedAt", "heartbeatAt", "workflowVersions"],
            nodes["orders-v1"].EnumerateObject().Select(p => p.Name));

        // The self node may register more workflows than "orders" (the server's own): only that one is compared.
        static string Versions(JsonElement node) => node.GetProperty("workflowVersions") is { ValueKind: JsonValueKind.Array } versions
            ? "[" + string.Join(",", versions.EnumerateArray().Where(w => w.GetProperty("name").GetString() == "orders").Select(w => w.GetRawText())) + "]"
            : node.GetProperty("workflowVersions").GetRawText();
    }

    /// <summary>This node's id and <c>/health</c>'s nodes by id, once this node's first heartbeat shows there.</summary>
    private static async Task<(string SelfId, Dictionary<string, JsonElement> Nodes)> LiveNodesAsync(InProcessServer server)
    {
        var selfId = server.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<BatonOptions>>().Value.NodeId;
        var body = await Poll.UntilAsync(
            async () =>
            {
                using var response = await server.Anonymous.GetAsync("/health");
                return await InProcessServer.ReadJsonAsync(response);
            },
            b => b.GetProperty("nodes").EnumerateArray().Any(n => n.GetProperty("nodeId").GetString() == selfId),
            "this node in /health nodes");
        return (selfId, body.GetProperty("nodes").EnumerateArray().ToDictionary(n => n.GetProperty("nodeId").GetString()!));
    }
}
