using Baton.Apps.CatalogSync.Tests.Infrastructure;

namespace Baton.Apps.CatalogSync.Tests.Remote;

public sealed class RemoteModeTests
{
    [Fact]
    public async Task Sync_RemoteMode_DrivesFetcherThenMaintainerInSeedChunksAndSumsStats()
    {
        await using var seed = await SeedServices.StartAsync();
        await using var h = await SyncHarness.StartAsync(settings: Remote(seed));

        var output = await h.SyncAsync();

        Assert.Equal([SyncHarness.AdminKey], seed.FetcherKeys.ToArray());
        Assert.Equal([(0L, 5_000, SyncHarness.AdminKey), (5_000L, 5_000, SyncHarness.AdminKey), (10_000L, 5_000, SyncHarness.AdminKey)], seed.MaintainerCalls.ToArray());
        Assert.Equal(12_345, output.GetProperty("records").GetInt64());
        Assert.Equal(2_500 + 2_500 + 1_172, output.GetProperty("inserted").GetInt64());
        Assert.Equal(3, output.GetProperty("chunks").GetInt32());
        var status = await h.StatusAsync();
        Assert.Equal("completed", status.GetProperty("currentPhase").GetString());
        Assert.Equal(3, status.GetProperty("progress").GetProperty("chunksProcessed").GetInt64());
        Assert.Equal(0, h.Feed.Requests);
    }

    [Fact]
    public async Task Sync_RemoteMaintainerFailsTwice_RetriedAndSucceeds()
    {
        await using var seed = await SeedServices.StartAsync();
        seed.MaintainerFailFirst = 2;
        await using var h = await SyncHarness.StartAsync(settings: Remote(seed));

        var output = await h.SyncAsync();

        Assert.Equal(12_345, output.GetProperty("records").GetInt64());
        Assert.Equal(5, seed.MaintainerCalls.Count);
        Assert.Equal([0L, 0L, 0L, 5_000L, 10_000L], seed.MaintainerCalls.Select(c => c.Offset).ToArray());
    }

    [Fact]
    public async Task Sync_RemoteMaintainerAlwaysFails_RunFailsClearlyAfterThreeChunks()
    {
        await using var seed = await SeedServices.StartAsync();
        seed.MaintainerFailFirst = int.MaxValue;
        await using var h = await SyncHarness.StartAsync(settings: Remote(seed));

        var run = await h.WaitFinishedAsync(await h.StartSyncAsync());

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains("3 Maintainer calls in a row failed", run.GetProperty("failure").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(3 * 4, seed.MaintainerCalls.Count);
        Assert.DoesNotContain(SyncHarness.AdminKey, run.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retry_RemoteRunFailedByThreeCalls_CallsTheLastAgainAndReportsEachSkippedCallOnce()
    {
        // Before: the run failed with no step named, so a retry reopened nothing: its replay met the three stored failures
        // again, failed at once without calling the Maintainer, and reported the two skipped calls a second time (4 errors).
        await using var seed = await SeedServices.StartAsync();
        seed.MaintainerFailFirst = int.MaxValue;
        var settings = Remote(seed);
        settings["Baton:Apps:CatalogSync:Remote:Attempts"] = "1";
        await using var h = await SyncHarness.StartAsync(settings: settings);
        var runId = await h.StartSyncAsync();
        var failed = await h.WaitFinishedAsync(runId);
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        seed.MaintainerFailFirst = 0;

        using (var retry = await h.Client.PostAsync($"/api/runs/{runId}/retry", null))
        {
            Assert.True(retry.IsSuccessStatusCode, $"{(int)retry.StatusCode} {await retry.Content.ReadAsStringAsync()}");
        }

        var run = await Poll.UntilAsync(
            () => h.RunAsync(runId),
            r => r.GetProperty("status").GetString() is "succeeded" || (r.GetProperty("status").GetString() == "failed" && r.GetProperty("executions").GetInt32() > 1),
            "the retry to finish",
            TimeSpan.FromSeconds(60));
        var status = await h.StatusAsync();

        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        Assert.Equal([0L, 5_000L, 10_000L, 10_000L], seed.MaintainerCalls.Select(c => c.Offset).ToArray());
        var errors = status.GetProperty("progress").GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("message").GetString()!).ToList();
        Assert.Equal(2, errors.Count);
        Assert.StartsWith("Maintainer chunk at offset 0 failed", errors[0], StringComparison.Ordinal);
        Assert.StartsWith("Maintainer chunk at offset 5000 failed", errors[1], StringComparison.Ordinal);
        Assert.Equal(2, status.GetProperty("progress").GetProperty("chunksDeadLettered").GetInt64());
        Assert.Equal(2_345, status.GetProperty("progress").GetProperty("totalRecords").GetInt64());
    }

    [Fact]
    public async Task Sync_FetcherRedirectsElsewhere_AdminKeyNotSentToTheOtherAddressAndRunFails()
    {
        // Before: .NET followed the 307 and copied X-ADMIN-KEY onto the request to the other origin.
        using var thief = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        thief.Start();
        var thiefPort = ((System.Net.IPEndPoint)thief.LocalEndpoint).Port;
        using var redirector = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        redirector.Start();
        var redirectorPort = ((System.Net.IPEndPoint)redirector.LocalEndpoint).Port;
        var redirecting = CannedHttpAnswer.ServeAsync(redirector, $"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{thiefPort}/steal\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        var stolen = ReadOneRequestAsync(thief);
        await using var h = await SyncHarness.StartAsync(settings: new Dictionary<string, string>
        {
            ["Baton:Apps:CatalogSync:Mode"] = "Remote",
            ["Baton:Apps:CatalogSync:Remote:FetcherUrl"] = $"http://127.0.0.1:{redirectorPort}/",
            ["Baton:Apps:CatalogSync:Remote:MaintainerUrl"] = $"http://127.0.0.1:{redirectorPort}/",
            ["Baton:Apps:CatalogSync:Remote:RetryDelay"] = "00:00:00.020",
            ["Baton:Apps:CatalogSync:Remote:Attempts"] = "1",
        });

        var run = await h.WaitFinishedAsync(await h.StartSyncAsync());
        var reached = await Task.WhenAny(stolen, Task.Delay(TimeSpan.FromSeconds(1))) == stolen;
        redirector.Stop();
        thief.Stop();
        await redirecting;

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains("307", run.GetProperty("failure").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.False(reached && (await stolen).Contains(SyncHarness.AdminKey, StringComparison.Ordinal), "the admin key reached the address the Fetcher redirected to");
        Assert.False(reached, "the redirect was followed");
    }

    [Fact]
    public async Task Sync_FetcherUrlWithPasswordUnreachable_StoredFailureShowsItMasked()
    {
        // Before: "the Fetcher could not be reached at http://fuser:FetcherPw555@127.0.0.1:..." in the run, /status and the dashboard.
        var port = Ports.Free();
        await using var h = await SyncHarness.StartAsync(settings: new Dictionary<string, string>
        {
            ["Baton:Apps:CatalogSync:Mode"] = "Remote",
            ["Baton:Apps:CatalogSync:Remote:FetcherUrl"] = $"http://fuser:FetcherPw555@127.0.0.1:{port}/",
            ["Baton:Apps:CatalogSync:Remote:MaintainerUrl"] = $"http://fuser:FetcherPw555@127.0.0.1:{port}/",
            ["Baton:Apps:CatalogSync:Remote:RetryDelay"] = "00:00:00.020",
            ["Baton:Apps:CatalogSync:Remote:Attempts"] = "1",
        });

        var run = await h.WaitFinishedAsync(await h.StartSyncAsync());
        var status = await h.StatusAsync();

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains($"http://fuser:***@127.0.0.1:{port}", run.GetProperty("failure").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("FetcherPw555", run.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("FetcherPw555", status.ToString(), StringComparison.Ordinal);
    }

    private static async Task<string> ReadOneRequestAsync(System.Net.Sockets.TcpListener listener)
    {
        using var client = await listener.AcceptTcpClientAsync();
        var buffer = new byte[65536];
        var read = await client.GetStream().ReadAsync(buffer);
        return System.Text.Encoding.ASCII.GetString(buffer, 0, read);
    }

    private static Dictionary<string, string> Remote(SeedServices seed) => new()
    {
        ["Baton:Apps:CatalogSync:Mode"] = "Remote",
        ["Baton:Apps:CatalogSync:Remote:FetcherUrl"] = seed.FetcherUrl.ToString(),
        ["Baton:Apps:CatalogSync:Remote:MaintainerUrl"] = seed.MaintainerUrl.ToString(),
        ["Baton:Apps:CatalogSync:Remote:RetryDelay"] = "00:00:00.020",
    };
}
