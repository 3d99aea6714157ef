using System.Text;
using System.Text.Json;
using Baton.Apps.ReviewGateway.Enqueue;
using Baton.Apps.ReviewGateway.Forwarding;

namespace Baton.Apps.ReviewGateway.Tests.Forwarding;

/// <summary>The forward's body and the answers' timestamp, which the hot path builds without the serializer and formatter.</summary>
public sealed class WorkerBodyTests
{
    [Theory]
    [InlineData("ChIJN1t_tDeuEmsRUsoyG83frY4")]
    [InlineData("a-b_C9")]
    [InlineData("")]
    [InlineData("quote\"and\\backslash")]
    [InlineData("café <tag> & \u2028")]
    public void BodyOf_AnyPlaceId_SameBytesAsTheSerializer(string placeId)
    {
        var expected = JsonSerializer.SerializeToUtf8Bytes(new WorkerEnqueueBody(placeId), GatewayJson.Default.WorkerEnqueueBody);

        var body = WorkerNodeClient.BodyOf(placeId);

        Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(body));
        Assert.Equal(placeId, JsonDocument.Parse(body).RootElement.GetProperty("placeId").GetString());
    }

    [Fact]
    public void Timestamp_WithinASecondThenTheNext_Rfc3339InUtcWithWholeSeconds()
    {
        var start = new DateTimeOffset(2026, 12, 5, 8, 59, 59, 100, TimeSpan.FromHours(2));

        var first = GatewayResponses.Timestamp(start);
        var sameSecond = GatewayResponses.Timestamp(start.AddMilliseconds(850));
        var next = GatewayResponses.Timestamp(start.AddMilliseconds(900));

        Assert.Equal("2026-12-05T06:59:59Z", first);
        Assert.Equal(first, sameSecond);
        Assert.Equal("2026-12-05T07:00:00Z", next);
        // Back to an earlier second (another clock, a test's): formatted again, not the cached later one.
        Assert.Equal("2026-12-05T06:59:59Z", GatewayResponses.Timestamp(start));
    }
}
