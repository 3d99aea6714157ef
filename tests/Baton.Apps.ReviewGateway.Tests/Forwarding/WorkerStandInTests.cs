using System.Net;
using System.Text;
using System.Text.Json;
using Baton.Simulators.WorkerNode;

namespace Baton.Apps.ReviewGateway.Tests.Forwarding;

/// <summary>
/// The worker-node stand-in's own <c>POST /enqueue</c>, which the forwarding tests and the benchmark's delivery check
/// rely on: it reads <c>placeId</c> with the JSON reader (not a document), records one entry per job id, and answers
/// the seed worker's shape.
/// </summary>
public sealed class WorkerStandInTests : IAsyncLifetime
{
    private WorkerNodeSimulator _worker = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _worker = await WorkerNodeSimulator.StartAsync(Ports.Free());
        _http = new HttpClient { BaseAddress = _worker.BaseAddress };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _worker.DisposeAsync();
    }

    [Fact]
    public async Task Enqueue_NewThenRepeatedJobId_Answers202Queued200Duplicate_AndKeepsFirstDelivery()
    {
        var first = await PostAsync("""{"extra":{"placeId":"nested"},"placeId":"p-1"}""", "reviews:p-1:start", "corr-1");
        var second = await PostAsync("""{"placeId":"p-1"}""", "reviews:p-1:start", "corr-2");

        Assert.Equal(HttpStatusCode.Accepted, first.Status);
        Assert.Equal("""{"status":"queued","jobId":"reviews:p-1:start","placeId":"p-1"}""", first.Body);
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal("duplicate", JsonDocument.Parse(second.Body).RootElement.GetProperty("status").GetString());
        Assert.Equal(2, _worker.State.Jobs["reviews:p-1:start"]);
        Assert.Equal(1, _worker.State.Unique);
        Assert.Equal(1, _worker.State.Duplicates);
        Assert.Equal("p-1", _worker.State.PlaceIdOf("reviews:p-1:start"));
        Assert.Equal("corr-1", _worker.State.CorrelationIdOf("reviews:p-1:start"));
        Assert.Equal("reviews:p-1:start 2\n", await _http.GetStringAsync("/control/jobs"));
    }

    [Fact]
    public async Task Enqueue_PlaceIdNeedingEscapes_IsReadAndAnsweredAsJson()
    {
        var answer = await PostAsync("""{"placeId":"caf\u00e9 \"q\""}""", jobId: null, correlationId: null);

        Assert.Equal(HttpStatusCode.Accepted, answer.Status);
        Assert.Equal("caf\u00e9 \"q\"", JsonDocument.Parse(answer.Body).RootElement.GetProperty("placeId").GetString());
        Assert.Equal(1, _worker.State.WithoutKey);
        Assert.Equal("caf\u00e9 \"q\"", _worker.State.PlaceIdOf("placeId:caf\u00e9 \"q\""));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[\"placeId\"]")]
    [InlineData("{}")]
    [InlineData("{\"placeId\":\"\"}")]
    [InlineData("{\"placeId\":7}")]
    [InlineData("{\"extra\":{\"placeId\":\"nested\"}}")]
    [InlineData("{\"placeId\":\"p\"} trailing")]
    [InlineData("{\"placeId\":\"p\"")]
    public async Task Enqueue_BodyWithoutTopLevelPlaceIdString_Answers400AndRecordsNothing(string body)
    {
        var answer = await PostAsync(body, "reviews:bad:start", correlationId: null);

        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal("placeId is required", JsonDocument.Parse(answer.Body).RootElement.GetProperty("error").GetString());
        Assert.Equal(0, _worker.State.Unique);
        Assert.Equal(1, _worker.State.Received);
    }

    private async Task<(HttpStatusCode Status, string Body)> PostAsync(string body, string? jobId, string? correlationId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/enqueue")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (jobId is not null)
        {
            request.Headers.Add("Idempotency-Key", jobId);
        }

        if (correlationId is not null)
        {
            request.Headers.Add("X-Correlation-ID", correlationId);
        }

        using var response = await _http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
