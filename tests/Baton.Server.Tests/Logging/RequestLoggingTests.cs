using System.Net;
using Baton.Server.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Baton.Server.Tests.Logging;

public sealed class RequestLoggingTests
{
    [Fact]
    public async Task InvokeAsync_NeitherInformationNorDebugEnabled_HandsTheRequestStraightOn()
    {
        var handled = new TaskCompletionSource();
        var middleware = new Baton.Server.Logging.RequestLoggingMiddleware(
            _ => handled.Task, new Baton.Server.Logging.SecretRedactor([]), Microsoft.Extensions.Logging.Abstractions.NullLogger<Baton.Server.Logging.RequestLoggingMiddleware>.Instance);

        var returned = middleware.InvokeAsync(new Microsoft.AspNetCore.Http.DefaultHttpContext());
        handled.SetResult();
        await returned;

        // The next delegate's own task: no async frame of the middleware around it.
        Assert.Same(handled.Task, returned);
    }

    [Fact]
    public async Task Logs_AdminKeyInHeaderOrQuery_NeverAppears()
    {
        const string wrongKey = "wrong-key-that-is-also-secret-91c2";
        await using var server = await InProcessServer.StartAsync(
            new Dictionary<string, string> { ["Baton:Apps:Probe:Enabled"] = "true" },
            (_, baton) => TestWorkflows.AddQuick(baton),
            minimumLevel: LogLevel.Trace,
            apps: [new ProbeApp()]);

        using var viaQuery = await server.Anonymous.GetAsync($"/probe-sync?key={InProcessServer.AdminKey}&other=1");
        using var viaQueryOnApi = await server.Anonymous.GetAsync($"/api/runs?key={InProcessServer.AdminKey}");
        using var viaHeader = await server.Client.GetAsync("/api/runs?limit=5");
        using var started = await server.Client.PostAsync("/api/workflows/quick/runs", InProcessServer.Json("""{"n":1}"""));
        using var wrongHeader = await server.NewClient(wrongKey).GetAsync("/api/workflows");
        using var wrongQuery = await server.Anonymous.GetAsync($"/probe-sync?KEY={wrongKey}");
        using var bad = await server.Client.PostAsync("/api/workflows/quick/runs", InProcessServer.Json("{oops"));
        Assert.Equal(HttpStatusCode.OK, viaQuery.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, viaQueryOnApi.StatusCode);
        Assert.Equal(HttpStatusCode.OK, viaHeader.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongHeader.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongQuery.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var id = (await InProcessServer.ReadJsonAsync(started)).GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(id, "succeeded");

        var text = server.Logs.AllText();
        Assert.True(server.Logs.Entries.Count > 20, "too few log lines were captured for the check to mean anything");
        Assert.DoesNotContain(InProcessServer.AdminKey, text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(wrongKey, text, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("/probe-sync?key=***&other=1", text, StringComparison.Ordinal);
        Assert.Contains("/probe-sync?KEY=***", text, StringComparison.Ordinal);
        Assert.Contains("/api/runs?limit=5", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CorrelationId_GivenOrGenerated_IsReturnedLoggedAndStoredOnTheRun()
    {
        await using var server = await InProcessServer.StartAsync(configure: (_, baton) => TestWorkflows.AddQuick(baton));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/workflows/quick/runs") { Content = InProcessServer.Json("""{"n":3}""") };
        request.Headers.Add("X-Correlation-ID", "order-4711");
        using var response = await server.Client.SendAsync(request);
        Assert.Equal("order-4711", Assert.Single(response.Headers.GetValues("X-Correlation-ID")));
        var id = (await InProcessServer.ReadJsonAsync(response)).GetProperty("id").GetString()!;
        var run = await server.WaitForStatusAsync(id, "succeeded");
        Assert.Equal("order-4711", run.GetProperty("correlationId").GetString());

        using var generated = await server.Client.GetAsync("/api/workflows");
        Assert.Matches("^[0-9a-f]{32}$", Assert.Single(generated.Headers.GetValues("X-Correlation-ID")));

        using var invalid = new HttpRequestMessage(HttpMethod.Get, "/api/workflows");
        invalid.Headers.TryAddWithoutValidation("X-Correlation-ID", new string('x', 500));
        using var replaced = await server.Client.SendAsync(invalid);
        Assert.Matches("^[0-9a-f]{32}$", Assert.Single(replaced.Headers.GetValues("X-Correlation-ID")));

        using var unauthorized = await server.Anonymous.GetAsync("/api/runs");
        Assert.Single(unauthorized.Headers.GetValues("X-Correlation-ID"));

        Assert.Contains(server.Logs.Entries, e => e.EventId == 1400 && e.Message.Contains("/api/workflows/quick/runs", StringComparison.Ordinal) && e.Scopes.Contains("CorrelationId=order-4711"));
        Assert.Contains(server.Logs.Entries, e => e.Category == "Baton.Engine" && e.Message.Contains(id, StringComparison.Ordinal) && e.Scopes.Contains("CorrelationId=order-4711") && e.Scopes.Contains($"RunId={id}"));
    }

    [Fact]
    public async Task CorrelationId_WithoutOne_IsTheRequestsTraceId_DistinctPerRequest()
    {
        await using var server = await InProcessServer.StartAsync();

        using var traced = new HttpRequestMessage(HttpMethod.Get, "/api/workflows");
        traced.Headers.Add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        using var response = await server.Client.SendAsync(traced);
        Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", Assert.Single(response.Headers.GetValues("X-Correlation-ID")));

        var generated = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 20; i++)
        {
            using var plain = await server.Client.GetAsync("/api/workflows");
            var id = Assert.Single(plain.Headers.GetValues("X-Correlation-ID"));
            Assert.Matches("^[0-9a-f]{32}$", id);
            Assert.True(generated.Add(id), $"correlation id {id} given twice");
        }
    }
}
