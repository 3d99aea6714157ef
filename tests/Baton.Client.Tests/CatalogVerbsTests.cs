using System.Net;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Client.Tests;

/// <summary>Schedules, workflows, nodes and the DI registration, against the real server process on SQLite.</summary>
public sealed class CatalogVerbsTests(SqliteServerFixture fixture) : IClassFixture<SqliteServerFixture>
{
    [Fact]
    public async Task Schedules_SetGetListDelete_RoundTrip()
    {
        var client = fixture.NewClient();
        var name = "nightly-" + Guid.NewGuid().ToString("N")[..8];

        var created = await client.SetScheduleAsync(name, new ScheduleDefinition { Workflow = "demo", Cron = "0 2 * * *", TimeZone = "Europe/Brussels", Enabled = false });
        var read = await client.GetScheduleAsync(name);
        var listed = await client.ListSchedulesAsync();
        var deleted = await client.DeleteScheduleAsync(name);
        var deletedAgain = await client.DeleteScheduleAsync(name);

        Assert.Equal("0 2 * * *", created.Cron);
        Assert.Equal("Europe/Brussels", read!.TimeZone);
        Assert.False(read.Enabled);
        Assert.Contains(listed, s => s.Name == name);
        Assert.True(deleted);
        Assert.False(deletedAgain);
        Assert.Null(await client.GetScheduleAsync(name));
    }

    [Fact]
    public async Task SetScheduleAsync_BadCron_Throws400NamingTheField()
    {
        var client = fixture.NewClient();

        var ex = await Assert.ThrowsAsync<BatonApiException>(() => client.SetScheduleAsync("bad-cron", new ScheduleDefinition { Workflow = "demo", Cron = "every day" }));

        Assert.Equal(HttpStatusCode.BadRequest, ex.Status);
        Assert.Equal("urn:baton:problem:invalid-schedule", ex.Type);
        Assert.Null(await client.GetScheduleAsync("bad-cron"));
    }

    [Fact]
    public async Task ListWorkflowsAsync_DemoEnabled_ListsDemo()
    {
        var workflows = await fixture.NewClient().ListWorkflowsAsync();

        Assert.Contains(workflows, w => w.Name == "demo" && w.StartRuns == "/api/workflows/demo/runs");
    }

    [Fact]
    public async Task ListNodesAsync_OneServer_ListsItsNodeWithDemo()
    {
        var nodes = await Poll.UntilAsync(() => fixture.NewClient().ListNodesAsync(), n => n.Count > 0, "the node's first heartbeat");

        var node = Assert.Single(nodes);
        Assert.Contains("demo", node.Workflows);
        // With the version each workflow runs (before: names alone).
        Assert.Contains("demo v1", node.WorkflowVersions!.Select(w => w.Describe()));
    }

    [Fact]
    public async Task AddBatonClient_FromServiceProvider_SendsKeyThroughHandler()
    {
        var services = new ServiceCollection();
        services.AddBatonClient(o =>
        {
            o.BaseAddress = fixture.Server.BaseAddress;
            o.AdminKey = fixture.Server.Key;
            o.PollInterval = TimeSpan.FromMilliseconds(50);
        });
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<BatonApiClient>();
        var started = await client.StartAsync("demo", new DemoInput(2, 0));
        var output = await client.GetResultAsync<DemoOutput>(started.Run.Id).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(5, output!.Sum);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnyVerb_ServerRedirectsElsewhere_KeyNotSentThereAndTheErrorSaysWhere(bool fromServiceProvider)
    {
        // .NET keeps custom headers on a redirect: followed, it carried X-ADMIN-KEY to whatever host the Location named.
        using var redirecting = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        using var elsewhere = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        redirecting.Start();
        elsewhere.Start();
        var target = $"http://127.0.0.1:{((System.Net.IPEndPoint)elsewhere.LocalEndpoint).Port}/collect";
        var serving = Baton.Testing.CannedHttpAnswer.ServeAsync(
            redirecting, $"HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        var baseAddress = new Uri($"http://127.0.0.1:{((System.Net.IPEndPoint)redirecting.LocalEndpoint).Port}/");
        var services = new ServiceCollection();
        services.AddBatonClient(o => (o.BaseAddress, o.AdminKey) = (baseAddress, "k-0123456789"));
        await using var provider = services.BuildServiceProvider();
        var client = fromServiceProvider ? provider.GetRequiredService<BatonApiClient>() : BatonApiClient.Create(baseAddress, "k-0123456789");

        var error = await Assert.ThrowsAsync<BatonApiException>(() => client.StartAsync("demo", new DemoInput(1, 0)));
        var reached = elsewhere.Pending();
        redirecting.Stop();
        elsewhere.Stop();
        await serving;

        Assert.False(reached, "the client connected to the host the redirect named");
        Assert.Equal(System.Net.HttpStatusCode.TemporaryRedirect, error.Status);
        Assert.Contains($"pointing to {target}", error.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnyVerb_BaseAddressBehindAPrefixWithoutFinalSlash_RequestsStayUnderThePrefix(bool fromServiceProvider)
    {
        // Before: "http://host/baton" resolved "api/workflows" to "http://host/api/workflows": every request, admin key and
        // all, went outside the prefix the server is behind (to whatever else that host serves at its root).
        var paths = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var baseAddress = new Uri(fixture.Server.BaseAddress, "baton");
        var services = new ServiceCollection();
        services.AddBatonClient(o => (o.BaseAddress, o.AdminKey) = (baseAddress, fixture.Server.Key))
            .AddHttpMessageHandler(() => new PrefixProxy("/baton/", paths));
        await using var provider = services.BuildServiceProvider();
        var client = fromServiceProvider
            ? provider.GetRequiredService<BatonApiClient>()
            : BatonApiClient.Create(baseAddress, fixture.Server.Key, new PrefixProxy("/baton/", paths) { InnerHandler = new SocketsHttpHandler() });

        var workflows = await client.ListWorkflowsAsync();

        Assert.Equal("/baton/api/workflows", Assert.Single(paths));
        Assert.Contains(workflows, w => w.Name == "demo");
    }

    [Fact]
    public async Task StartAsync_IdempotencyKeyThatCannotBeAHeader_RefusedBeforeAnythingIsSent()
    {
        var client = fixture.NewClient();

        var lineBreak = await Assert.ThrowsAsync<ArgumentException>(() => client.StartAsync("demo", new DemoInput(1, 0), "a\r\nX-Other: b"));
        await Assert.ThrowsAsync<ArgumentException>(() => client.SendEventAsync("0193f1c2a0b07c3d9e8f0a1b2c3d4e5f", "go", 1, "été"));
        await Assert.ThrowsAsync<ArgumentException>(() => client.StartAsync("demo", new DemoInput(1, 0), " padded"));
        var pathStep = await Assert.ThrowsAsync<ArgumentException>(() => client.CancelAsync(".."));

        Assert.Equal("idempotencyKey", lineBreak.ParamName);
        Assert.Equal("runId", pathStep.ParamName);
        Assert.Equal("a key with inner spaces", (await client.StartAsync("demo", new DemoInput(1, 0), "a key with inner spaces")).Run is { } run
            ? (await client.GetAsync(run.Id))!.IdempotencyKey : null);
    }

    /// <summary>A reverse proxy that serves the API under <c>prefix</c> and nothing else (404 outside it); records each path asked.</summary>
    private sealed class PrefixProxy(string prefix, System.Collections.Concurrent.ConcurrentQueue<string> paths) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var uri = request.RequestUri!;
            paths.Enqueue(uri.AbsolutePath);
            if (!uri.AbsolutePath.StartsWith(prefix, StringComparison.Ordinal))
            {
                return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.NotFound) { RequestMessage = request, Content = new StringContent("not here") });
            }

            request.RequestUri = new Uri(uri, "/" + uri.PathAndQuery[prefix.Length..]);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
