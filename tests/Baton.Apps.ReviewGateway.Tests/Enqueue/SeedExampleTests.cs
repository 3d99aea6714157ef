using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Baton.Apps.ReviewGateway.Tests.Infrastructure;
using Baton.Runs;
using Baton.Simulators.WorkerNode;

namespace Baton.Apps.ReviewGateway.Tests.Enqueue;

/// <summary>The seed document's curl examples, sent as written, against the real server and a worker stand-in.</summary>
public sealed partial class SeedExampleTests : IAsyncLifetime
{
    private WorkerNodeSimulator _worker = null!;
    private GatewayServer _server = null!;

    public async Task InitializeAsync()
    {
        _worker = await WorkerNodeSimulator.StartAsync(Ports.Free());
        _server = await GatewayServer.StartAsync(_worker.BaseAddress);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _worker.DisposeAsync();
    }

    [Fact]
    public async Task Enqueue_SeedCurlExample_Returns202WithDeterministicJobIdAndForwards()
    {
        // curl -X POST http://localhost:8080/enqueue -H "Content-Type: application/json" -d '{"placeId": "ChIJN1t_tDeuEmsRUsoyG83frY4"}'
        var (status, body, contentType) = await _server.EnqueueRawAsync("""{"placeId": "ChIJN1t_tDeuEmsRUsoyG83frY4"}""");

        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal("application/json", contentType);
        Assert.Equal("enqueued", body.GetProperty("status").GetString());
        Assert.Equal("ChIJN1t_tDeuEmsRUsoyG83frY4", body.GetProperty("placeId").GetString());
        Assert.Equal("reviews:ChIJN1t_tDeuEmsRUsoyG83frY4:start", body.GetProperty("jobId").GetString());
        AssertSeedTimestamp(body.GetProperty("timestamp").GetString());

        // The 202 means stored: the run exists the moment the answer arrives.
        var runId = body.GetProperty("runId").GetString()!;
        Assert.NotNull(await _server.RunAsync(runId));
        var done = await _server.WaitForRunAsync(runId, RunStatus.Succeeded, RunStatus.Failed);
        Assert.Equal(RunStatus.Succeeded, done.Run.Status);
        Assert.Equal(1, _worker.State.Jobs["reviews:ChIJN1t_tDeuEmsRUsoyG83frY4:start"]);
        Assert.Equal("ChIJN1t_tDeuEmsRUsoyG83frY4", _worker.State.PlaceIdOf("reviews:ChIJN1t_tDeuEmsRUsoyG83frY4:start"));
        Assert.Equal(0, _worker.State.WithoutKey);
    }

    [Fact]
    public async Task Enqueue_SeedDebugExample_TestPlaceId_Returns202()
    {
        // curl -v -X POST http://localhost:8080/enqueue -H "Content-Type: application/json" -d '{"placeId": "test-place-id"}'
        var (status, body, _) = await _server.EnqueueRawAsync("""{"placeId": "test-place-id"}""");

        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal("reviews:test-place-id:start", body.GetProperty("jobId").GetString());
    }

    [Fact]
    public async Task Enqueue_SeedErrorExample_MissingPlaceId_Returns400WithSeedMessage()
    {
        var (status, body, contentType) = await _server.EnqueueRawAsync("{}");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/json", contentType);
        Assert.Equal("error", body.GetProperty("status").GetString());
        Assert.Equal("placeId is required", body.GetProperty("error").GetString());
        AssertSeedTimestamp(body.GetProperty("timestamp").GetString());
    }

    [Fact]
    public async Task Health_SeedCurlExample_ReturnsSeedShapeWithBatonExtras()
    {
        // curl http://localhost:8080/health
        using var response = await _server.Gateway.GetAsync("/health");
        var body = await GatewayServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("healthy", body.GetProperty("status").GetString());
        Assert.Equal("argus-orchestrator", body.GetProperty("service").GetString());
        AssertSeedTimestamp(body.GetProperty("timestamp").GetString());
        Assert.Matches(GoDurationPattern(), body.GetProperty("uptime").GetString());
        Assert.Equal(_worker.BaseAddress.ToString().TrimEnd('/'), body.GetProperty("worker_url").GetString()!.TrimEnd('/'));
        Assert.Equal("ok", body.GetProperty("store").GetString());
        Assert.True(body.GetProperty("jobs_pending_forward").GetInt64() >= 0);
    }

    [Fact]
    public async Task Health_MainListener_ReturnsBatonReadinessShape()
    {
        using var response = await _server.Main.GetAsync("/health");
        var body = await GatewayServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ready", body.GetProperty("status").GetString());
        Assert.Equal("ok", body.GetProperty("store").GetProperty("status").GetString());
        Assert.False(body.TryGetProperty("service", out _));
    }

    [Fact]
    public async Task Routes_EachListener_ServesOnlyItsOwnApi()
    {
        using var apiOnGateway = await _server.Gateway.GetAsync("/api/runs");
        using var enqueueOnMain = await _server.Main.PostAsync("/enqueue", new StringContent("""{"placeId":"x"}""", System.Text.Encoding.UTF8, "application/json"));
        using var runsOnMain = await _server.Main.GetAsync("/api/runs?workflow=review-forward");

        Assert.Equal(HttpStatusCode.NotFound, apiOnGateway.StatusCode);
        Assert.Equal("error", (await GatewayServer.ReadJsonAsync(apiOnGateway)).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.NotFound, enqueueOnMain.StatusCode);
        Assert.Equal(HttpStatusCode.OK, runsOnMain.StatusCode);
    }

    [Theory]
    [InlineData("/favicon.ico")]
    [InlineData("/robots.txt")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/enqueue.json")]
    public async Task UnknownPathWithAFileExtension_Returns404InSeedErrorShape(string path)
    {
        // Before: the gateway's fallback route (MapFallback's {*path:nonfile}) skipped paths that look like files, so a
        // browser's /favicon.ico or a crawler's /robots.txt on the seed's open port got Baton's 401 "send the admin key in
        // the X-ADMIN-KEY header" (and, with the key, Baton's problem 404), not the seed's 404.
        using var response = await _server.Gateway.GetAsync(path);
        var body = await GatewayServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("error", body.GetProperty("status").GetString());
        Assert.Equal("not found", body.GetProperty("error").GetString());
        AssertSeedTimestamp(body.GetProperty("timestamp").GetString());
    }

    [Theory]
    [InlineData("GET", "/enqueue", "POST")]
    [InlineData("OPTIONS", "/enqueue", "POST")]
    [InlineData("DELETE", "/enqueue", "POST")]
    [InlineData("POST", "/health", "GET, HEAD")]
    [InlineData("OPTIONS", "/health", "GET, HEAD")]
    // Methods outside the list once mapped one by one (before: the fallback's 404).
    [InlineData("TRACE", "/enqueue", "POST")]
    [InlineData("FOO", "/enqueue", "POST")]
    [InlineData("FOO", "/health", "GET, HEAD")]
    public async Task OtherMethodOnAGatewayPath_Returns405InSeedErrorShapeWithAllow(string method, string path, string allow)
    {
        // Before: no Allow header on /enqueue's 405, and the fallback's 404 for OPTIONS /enqueue and POST /health.
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        using var response = await _server.Gateway.SendAsync(request);
        var body = await GatewayServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(allow, string.Join(", ", response.Content.Headers.Allow));
        Assert.Equal("error", body.GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("DELETE", "/api/runs", "GET")]
    [InlineData("POST", "/api/runs", "GET")]
    [InlineData("GET", "/api/workflows/review-forward/runs", "POST")]
    [InlineData("PATCH", "/api/schedules/x", "GET, PUT, DELETE")]
    public async Task WrongMethodOnAMainListenerRoute_WithTheGatewaysFallbackMapped_Still405ProblemWithAllow(string method, string path, string allow)
    {
        // Before: the gateway's fallback (any method) kept routing from making its 405; ruled out on the main listener, it left a 404.
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        using var response = await _server.Main.SendAsync(request);
        var body = await GatewayServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(allow, string.Join(", ", response.Content.Headers.Allow));
        Assert.Equal("urn:baton:problem:method-not-allowed", body.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Health_Head_Returns200WithHeadersOnly()
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, "/health");
        using var response = await _server.Gateway.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    private static void AssertSeedTimestamp(string? timestamp)
    {
        Assert.NotNull(timestamp);
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", timestamp);
        var parsed = DateTimeOffset.Parse(timestamp, CultureInfo.InvariantCulture);
        Assert.InRange(parsed, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
    }

    [GeneratedRegex(@"^(\d+h)?(\d+m)?\d+s$")]
    private static partial Regex GoDurationPattern();
}
