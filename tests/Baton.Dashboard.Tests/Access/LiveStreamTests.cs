using System.Net;
using Baton.Dashboard.Tests.Infrastructure;

namespace Baton.Dashboard.Tests.Access;

/// <summary>The runs list's live stream with an id no store can hold, on both stores.</summary>
public sealed class LiveStreamTests
{
    [Theory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task LiveRunsStream_IdHoldsNul_LeftOutAndTheOtherRunStreamed(Store store)
    {
        await using var server = await DashboardServer.StartAsync(store);
        var api = server.NewApiClient();
        var runId = (await api.StartAsync("demo", new { items = 1, delayMs = 0 })).Run.Id;
        await api.WaitAsync(runId);
        using var client = server.NewBrowserlessClient();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();

        // The run has ended, so the stream sends its state and "end", then closes.
        using var response = await client.GetAsync($"/ui/live/runs?ids=bad%00id,{runId}");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($"\"id\":\"{runId}\"", body, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"succeeded\"", body, StringComparison.Ordinal);
        Assert.EndsWith("event: end\ndata: {}\n\n", body, StringComparison.Ordinal);
    }
}
