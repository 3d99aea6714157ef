using System.Net;
using System.Text.Json;
using Baton.Dashboard.Tests.Infrastructure;
using Baton.Runs;

namespace Baton.Dashboard.Tests.Access;

/// <summary>The live streams: an id no store can hold (both stores); a session that ends while a stream is open.</summary>
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

    [Theory]
    [InlineData("run")]
    [InlineData("list")]
    public async Task LiveStream_KeyChangedWhileOpen_EndsAskingToSignInAndSendsNothingMore(string stream)
    {
        // A run waiting for an event keeps its page's stream open for as long as it waits (days, say). Before: the sign-in
        // was checked when the stream opened only, so a stream opened just before the key changed (or the session's 12 h
        // ran out) went on sending the run's state and timeline to a browser no longer signed in.
        var key = "first-key-0a7c";
        await using var host = await EmbeddingHost.StartAsync(dashboardKeyMatches: candidate => candidate == Volatile.Read(ref key));
        var id = (await host.Client.StartRunAsync(new StartRunRequest { Workflow = "awaiting", Input = JsonSerializer.SerializeToElement(new { text = "a" }) })).Run!.Id;
        await Poll.UntilAsync(() => host.Client.GetRunAsync(id), d => d?.Run.Status == RunStatus.Suspended, "the run to wait for its event");
        using var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false })
        {
            BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60),
        };
        var signInPage = await client.GetStringAsync("/ui/signin");
        using (var signIn = await client.PostAsync("/ui/signin", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = DashboardServer.FormToken(signInPage), ["key"] = key, ["returnUrl"] = "/ui/runs",
        })))
        {
            Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        }

        using var response = await client.GetAsync(stream == "run" ? $"/ui/live/runs/{id}" : $"/ui/live/runs?ids={id}", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var first = await reader.ReadLineAsync();
        Volatile.Write(ref key, "second-key-5e19");
        // What the stream sends after the key changed, up to its end (bounded: a stream left open fails the test).
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var after = new List<string>();
        try
        {
            while (await reader.ReadLineAsync(bound.Token) is { } line)
            {
                after.Add(line);
            }
        }
        catch (OperationCanceledException)
        {
            after.Add("(still open after 30 s)");
        }

        Assert.StartsWith($"data: {{\"id\":\"{id}\"", first, StringComparison.Ordinal);
        // The stream's last message asks the page to sign in again (dashboard.js reloads it), and the stream closes.
        Assert.Equal(["event: signin", "data: {}"], after.Where(l => l.Length > 0).TakeLast(2));
    }
}
