using System.Net;
using System.Text;
using System.Text.Json;
using Baton.Server.Tests.Infrastructure;

namespace Baton.Server.Tests.Api;

/// <summary>POST /api/runs/{id}/events/{name}: 202 stores, 404 unknown run, 409 finished run, 400 bad input stores nothing.</summary>
public sealed class EventEndpointsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private InProcessServer Server => fixture.Server;

    [Fact]
    public async Task SendEvent_RunWaitingForIt_Returns202AndRunFinishesWithPayload()
    {
        var id = await StartWaitingDemoAsync("approved");

        var (status, body) = await SendAsync(id, "approved", """{"by":"ann"}""", idempotencyKey: "k-1");
        var (again, repeated) = await SendAsync(id, "approved", """{"by":"someone else"}""", idempotencyKey: "k-1");
        var done = await Server.WaitForStatusAsync(id, "succeeded");

        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal("approved", body.GetProperty("name").GetString());
        Assert.False(body.GetProperty("duplicate").GetBoolean());
        Assert.Equal(HttpStatusCode.Accepted, again);
        Assert.True(repeated.GetProperty("duplicate").GetBoolean());
        Assert.Equal(body.GetProperty("sequence").GetInt64(), repeated.GetProperty("sequence").GetInt64());
        Assert.Equal("ann", done.GetProperty("output").GetProperty("event").GetProperty("by").GetString());
        var stored = Assert.Single(done.GetProperty("events").EnumerateArray());
        Assert.Equal(("approved", true), (stored.GetProperty("name").GetString(), stored.GetProperty("consumed").GetBoolean()));
        Assert.Contains(done.GetProperty("steps").EnumerateArray(), s => s.GetProperty("kind").GetString() == "event");
    }

    [Fact]
    public async Task SendEvent_IdempotencyKeyUsedForAnotherEventName_409NamingThatEventAndStoresNothing()
    {
        // Before: 202 {"name":"beta","duplicate":true} with alpha's sequence, and beta was never stored.
        var id = await StartWaitingDemoAsync("never");
        var (first, alpha) = await SendAsync(id, "alpha", """{"v":1}""", idempotencyKey: "k1");

        var (status, body) = await SendAsync(id, "beta", """{"v":2}""", idempotencyKey: "k1");

        Assert.Equal(HttpStatusCode.Accepted, first);
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("urn:baton:problem:idempotency-key-reused", body.GetProperty("type").GetString());
        var detail = body.GetProperty("detail").GetString()!;
        Assert.Contains("event 'alpha'", detail, StringComparison.Ordinal);
        Assert.Contains($"sequence {alpha.GetProperty("sequence").GetInt64()}", detail, StringComparison.Ordinal);
        Assert.Contains("event 'beta' was not stored", detail, StringComparison.Ordinal);
        var events = (await Server.GetRunAsync(id)).GetProperty("events").EnumerateArray().Select(e => e.GetProperty("name").GetString()).ToList();
        Assert.Equal(["alpha"], events);
        await Server.Client.PostAsync($"/api/runs/{id}/cancel", null);
    }

    [Fact]
    public async Task SendEvent_FinishedRun_Returns409AndStoresNothing()
    {
        var (_, started) = await Server.StartRunAsync("demo", """{"items":1,"delayMs":0}""");
        var id = started.GetProperty("id").GetString()!;
        await Server.WaitForStatusAsync(id, "succeeded");

        var (status, body) = await SendAsync(id, "approved", "{}");

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("urn:baton:problem:run-finished", body.GetProperty("type").GetString());
        Assert.Empty((await Server.GetRunAsync(id)).GetProperty("events").EnumerateArray());
    }

    [Fact]
    public async Task SendEvent_UnknownRun_Returns404Problem()
    {
        var (status, body) = await SendAsync(new string('a', 32), "approved", "{}");

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("urn:baton:problem:run-not-found", body.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("bad name", "{}", "application/json")]
    [InlineData("approved", "{not json", "application/json")]
    [InlineData("approved", "{}", "text/plain")]
    [InlineData("approved", "{\"a\":\"\\ud800\"}", "application/json")]
    [InlineData("approved", "{\"\\udfff\":1}", "application/json")]
    [InlineData("approved", "{\"a\":[\"x\\u0000y\"]}", "application/json")]
    public async Task SendEvent_BadNameOrBody_Returns4xxProblemAndStoresNothing(string name, string body, string contentType)
    {
        var id = await StartWaitingDemoAsync("approved");

        var (status, problem) = await SendAsync(id, Uri.EscapeDataString(name), body, contentType: contentType);

        Assert.True(status is HttpStatusCode.BadRequest or HttpStatusCode.UnsupportedMediaType, $"got {status}");
        Assert.StartsWith("urn:baton:problem:", problem.GetProperty("type").GetString(), StringComparison.Ordinal);
        var run = await Server.GetRunAsync(id);
        Assert.Empty(run.GetProperty("events").EnumerateArray());
        Assert.Equal("suspended", run.GetProperty("status").GetString());
        await Server.Client.PostAsync($"/api/runs/{id}/cancel", null);
    }

    [Theory]
    [InlineData("{\"a\":\"\\ud800\"}", "half a surrogate pair")]
    [InlineData("{\"a\":\"x\\u0000y\"}", "U+0000")]
    public async Task SendEvent_PayloadStringNotStorableText_400NamingItAndTheRunStaysReadableAndWaiting(string body, string named)
    {
        // Before: 202, then the run failed reading its event and GET /api/runs/{id} answered 500 from then on.
        var id = await StartWaitingDemoAsync("approved");

        var (status, problem) = await SendAsync(id, "approved", body);
        var (sent, _) = await SendAsync(id, "approved", """{"a":"\ud83d\ude00 a pair is text"}""");
        var done = await Server.WaitForStatusAsync(id, "succeeded");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(named, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, sent);
        Assert.Equal("\U0001F600 a pair is text", done.GetProperty("output").GetProperty("event").GetProperty("a").GetString());
        Assert.Single(done.GetProperty("events").EnumerateArray());
    }

    [Fact]
    public async Task SendEvent_PayloadOverTheEventLimit_413NamesThatLimitNotTheBodySetting()
    {
        var id = await StartWaitingDemoAsync("approved");

        var (status, problem) = await SendAsync(id, "approved", "{\"pad\":\"" + new string('x', 300 * 1024) + "\"}");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("the body exceeds the limit of 262144 bytes (an event's payload limit)", problem.GetProperty("detail").GetString());
        Assert.Empty((await Server.GetRunAsync(id)).GetProperty("events").EnumerateArray());
        await Server.Client.PostAsync($"/api/runs/{id}/cancel", null);
    }

    [Fact]
    public async Task SendEvent_WithoutAdminKey_Returns401AndStoresNothing()
    {
        var id = await StartWaitingDemoAsync("approved");

        using var response = await Server.Anonymous.PostAsync($"/api/runs/{id}/events/approved", InProcessServer.Json("{}"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty((await Server.GetRunAsync(id)).GetProperty("events").EnumerateArray());
        await Server.Client.PostAsync($"/api/runs/{id}/cancel", null);
    }

    private async Task<string> StartWaitingDemoAsync(string eventName)
    {
        var (status, started) = await Server.StartRunAsync("demo", $$"""{"items":1,"delayMs":0,"waitFor":"{{eventName}}"}""");
        Assert.Equal(HttpStatusCode.Accepted, status);
        var id = started.GetProperty("id").GetString()!;
        var waiting = await Server.WaitForStatusAsync(id, "suspended");
        Assert.Equal("waiting for " + eventName, waiting.GetProperty("phase").GetString());
        return id;
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(
        string runId, string name, string body, string? idempotencyKey = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/runs/{runId}/events/{name}")
        {
            Content = new StringContent(body, Encoding.UTF8, contentType),
        };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        using var response = await Server.Client.SendAsync(request);
        return (response.StatusCode, await InProcessServer.ReadJsonAsync(response));
    }
}
