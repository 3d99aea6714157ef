using System.Net;
using Baton.Apps.ReviewGateway.Tests.Infrastructure;

namespace Baton.Apps.ReviewGateway.Tests.Enqueue;

/// <summary>Bad requests: each gets 400 in the seed's error shape and stores nothing.</summary>
public sealed class ValidationTests : IAsyncLifetime
{
    private GatewayServer _server = null!;

    public static TheoryData<string, string?, string> Corpus => new()
    {
        { "{}", "application/json", "placeId is required" },
        { """{"placeId": null}""", "application/json", "placeId is required" },
        { """{"placeId": ""}""", "application/json", "placeId is required" },
        { """{"placeId": 42}""", "application/json", "placeId must be a string" },
        { """{"placeId": true}""", "application/json", "placeId must be a string" },
        { """{"placeId": ["a"]}""", "application/json", "placeId must be a string" },
        { """{"placeId": {"id": "a"}}""", "application/json", "placeId must be a string" },
        { "{\"placeId\": \"" + new string('a', 257) + "\"}", "application/json", "placeId must be at most 256 characters" },
        { """{"placeId": "has space"}""", "application/json", "placeId may contain only" },
        { """{"placeId": "a:b"}""", "application/json", "placeId may contain only" },
        { """{"placeId": "../etc/passwd"}""", "application/json", "placeId may contain only" },
        { """{"placeId": "caf\u00e9"}""", "application/json", "placeId may contain only" },
        { """{"placeId": "a\nb"}""", "application/json", "placeId may contain only" },
        { """{"placeId": "a", "placeId": "b"}""", "application/json", "more than once" },
        // Half a surrogate pair as an escape is no text: Go reads it as U+FFFD, which the character rule refuses; a field
        // name that is no text is an unknown field (before: a 500 and an Error log line with a stack trace each).
        { """{"placeId": "\ud800"}""", "application/json", "placeId may contain only" },
        { """{"placeId": "ab\udfffcd"}""", "application/json", "placeId may contain only" },
        { """{"\ud800": 1}""", "application/json", "placeId is required" },
        { """{"placeId": "a" """, "application/json", "invalid JSON" },
        { """{"placeId": 'a'}""", "application/json", "invalid JSON" },
        { "not json", "application/json", "invalid JSON" },
        { """{"placeId": "a"} {}""", "application/json", "invalid JSON" },
        { "", "application/json", "request body is empty" },
        { """["ChIJN1t_tDeuEmsRUsoyG83frY4"]""", "application/json", "must be a JSON object" },
        { "\"ChIJN1t_tDeuEmsRUsoyG83frY4\"", "application/json", "must be a JSON object" },
        { """{"placeId": "ChIJN1t_tDeuEmsRUsoyG83frY4"}""", "text/plain", "Content-Type must be application/json" },
        { """{"placeId": "ChIJN1t_tDeuEmsRUsoyG83frY4"}""", "application/x-www-form-urlencoded", "Content-Type must be application/json" },
        { """{"placeId": "ChIJN1t_tDeuEmsRUsoyG83frY4"}""", null, "Content-Type must be application/json" },
        { """{"placeId": "ChIJN1t_tDeuEmsRUsoyG83frY4"}""", "application/json; charset=latin1", "Content-Type must be application/json" },
        { "{\"pad\": \"" + new string('x', 20_000) + "\", \"placeId\": \"a\"}", "application/json", "request body is larger than" },
    };

    public async Task InitializeAsync() =>
        // The worker URL is never called: nothing may be stored.
        _server = await GatewayServer.StartAsync(new Uri($"http://127.0.0.1:{Ports.Free()}"));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task Enqueue_BadRequest_Returns400SeedShapeAndStoresNothing(string body, string? contentType, string expectedError)
    {
        var before = (await _server.RunsAsync()).Select(r => r.Id).ToHashSet();

        var (status, response, responseType) = await _server.EnqueueRawAsync(body, contentType);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/json", responseType);
        Assert.Equal("error", response.GetProperty("status").GetString());
        Assert.Contains(expectedError, response.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.True(response.TryGetProperty("timestamp", out _));
        // Named with their input, so a run this request did not make (a stray request from elsewhere) shows its placeId.
        Assert.Empty((await _server.RunsAsync()).Where(r => !before.Contains(r.Id)).Select(r => $"{r.Id}: {r.Input} (correlation {r.CorrelationId})"));
    }

    [Fact]
    public async Task Enqueue_BadCharacters_ErrorTextReadsAsTheSeedsGoEncoderWritesIt()
    {
        // Before: "placeId may contain only letters, digits, \u0027-\u0027 and \u0027_\u0027" (System.Text.Json's default
        // escaping); Go's encoding/json leaves apostrophes as they are.
        using var response = await _server.Gateway.PostAsync("/enqueue", new StringContent("""{"placeId": "a b"}""", System.Text.Encoding.UTF8, "application/json"));
        var raw = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"error\":\"placeId may contain only letters, digits, '-' and '_'\"", raw, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"placeId": "ChIJN1t_tDeuEmsRUsoyG83frY4", "extra": {"ignored": [1, 2]}}""", "application/json")]
    [InlineData("""{"PlaceID": "ChIJN1t_tDeuEmsRUsoyG83frY4"}""", "application/json")]
    [InlineData("""{"placeId": "ChIJN1t_tDeuEmsRUsoyG83frY4"}""", "application/json; charset=utf-8")]
    [InlineData("""{"placeId": "ChIJN1t_tDeuEmsRUsoyG83frY4"}""", "Application/JSON")]
    [InlineData("""{"placeId": "ChIJN1t_tDeuEmsRUsoyG83frY4"}""", "application/json;charset=\"UTF-8\"")]
    [InlineData("""{"\ud800abcdef": "x", "placeId": "ChIJN1t_tDeuEmsRUsoyG83frY4"}""", "application/json")]
    public async Task Enqueue_GoCompatibleVariants_Returns202(string body, string contentType)
    {
        var (status, response, _) = await _server.EnqueueRawAsync(body, contentType);

        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal("reviews:ChIJN1t_tDeuEmsRUsoyG83frY4:start", response.GetProperty("jobId").GetString());
    }

    [Theory]
    [InlineData(17)]
    [InlineData(5_000)]
    public async Task Enqueue_UnknownFieldNestedDeep_IgnoredAsGoDoes_Returns202(int depth)
    {
        // Go's encoding/json skips an unknown field nested up to 10,000 levels. Before: more than 16 levels was a 400.
        var body = "{\"extra\":" + new string('[', depth) + new string(']', depth) + ",\"placeId\":\"ChIJN1t_tDeuEmsRUsoyG83frY4\"}";

        var (status, response, _) = await _server.EnqueueRawAsync(body, "application/json");

        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal("reviews:ChIJN1t_tDeuEmsRUsoyG83frY4:start", response.GetProperty("jobId").GetString());
    }

    [Fact]
    public async Task Enqueue_PlaceIdOfMaxLength_Returns202()
    {
        var placeId = new string('Z', 256);

        var (status, response, _) = await _server.EnqueueAsync(placeId);

        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal($"reviews:{placeId}:start", response.GetProperty("jobId").GetString());
    }
}
