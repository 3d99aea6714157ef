using System.Text.Json;
using Baton.Apps.CatalogSync.Tests.Infrastructure;
using Baton.Demo.CatalogFeed;
using Xunit.Abstractions;

namespace Baton.Apps.CatalogSync.Tests.Crash;

/// <summary>
/// Kills the real server process with SIGKILL in the middle of a sync and checks what the restart makes of it: the
/// restarted server resumes the run within 2 s of being live (the default 30 s lease of the killed process has not
/// expired by then), and the table ends equal to the feed.
/// </summary>
public sealed class CrashTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ResumeBound = TimeSpan.FromSeconds(2);

    private const int Products = 20_000;

    [Theory]
    [InlineData(ProductsTarget.Sqlite)]
    [InlineData(ProductsTarget.Postgres)]
    public async Task Sync_ServerKilledMidProcessing_RestartFinishesAndTableEqualsFeed(ProductsTarget target)
    {
        await using var feed = await CatalogFeedServer.StartAsync(new CatalogFeedOptions { Products = Products, User = SyncHarness.FeedUser, Password = SyncHarness.FeedSecret });
        var directory = TestPaths.NewTempDirectory();
        await using var catalog = await CatalogTarget.CreateAsync(target, directory);
        var environment = Environment(feed, directory, chunkDelay: "00:00:00.100");
        foreach (var (key, value) in catalog.Settings())
        {
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        string runId;
        await using (var first = ServerProcess.Start(environment))
        {
            await first.WaitForLiveAsync();
            using var client = first.NewClient(SyncHarness.AdminKey);
            using (var started = await client.PostAsync("/sync", null))
            {
                runId = (await SyncHarness.ReadJsonAsync(started)).GetProperty("status").GetProperty("runId").GetString()!;
            }

            // Chunks are processed while the feed downloads; this test kills after the download, mid-processing.
            await Poll.UntilAsync(
                () => StatusAsync(client),
                s => s.GetProperty("currentPhase").GetString() == "processing" && s.GetProperty("progress").GetProperty("chunksProcessed").GetInt64() >= 10,
                "the download to finish and ten chunks to be processed",
                TimeSpan.FromSeconds(60));
            first.Kill();
        }

        var stored = catalog.Products().Count;
        Assert.InRange(stored, 1, Products - 1);

        await using (var second = ServerProcess.Start(environment))
        {
            await second.WaitForLiveAsync();
            using var client = second.NewClient(SyncHarness.AdminKey);
            await AssertResumedAsync(client, runId);
            var run = await Poll.UntilAsync(
                async () => await SyncHarness.ReadJsonAsync(await client.GetAsync($"/api/runs/{runId}")),
                r => r.GetProperty("status").GetString() is "succeeded" or "failed",
                $"run {runId} to finish after the restart",
                TimeSpan.FromSeconds(120));

            Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
            var output = run.GetProperty("output");
            // Chunks committed before the kill are neither applied nor counted twice.
            Assert.Equal(Products, output.GetProperty("records").GetInt64());
            Assert.Equal(Products, output.GetProperty("inserted").GetInt64());
            Assert.Equal(0, output.GetProperty("updated").GetInt64());
            Assert.Equal(0, output.GetProperty("skipped").GetInt64());
            Assert.True(run.GetProperty("executions").GetInt32() >= 2, run.ToString());
        }

        CatalogDb.AssertEqual(CatalogDb.Expected(feed.BodyBytes()), catalog.Products());
        Assert.Empty(catalog.DeadLetters());
        // The fetch step was done before the kill: the feed was downloaded once.
        Assert.Equal(1, feed.Requests);
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static Dictionary<string, string?> Environment(CatalogFeedServer feed, string directory, string chunkDelay) => new()
    {
        ["ADMIN_KEY"] = SyncHarness.AdminKey,
        ["Baton__Store__Sqlite__Path"] = Path.Combine(directory, "baton.db"),
        ["Baton__Demo__Enabled"] = "false",
        ["Baton__Engine__PollInterval"] = "00:00:00.050",
        ["Baton__Engine__ProgressFlushInterval"] = "00:00:00.100",
        ["Baton__Apps__CatalogSync__Enabled"] = "true",
        ["MEDIPIM_API_URL"] = feed.Url.ToString(),
        ["MEDIPIM_API_KEY_ID"] = SyncHarness.FeedUser,
        ["MEDIPIM_API_KEY_SECRET"] = SyncHarness.FeedSecret,
        ["Baton__Apps__CatalogSync__ChunkSize"] = "200",
        ["Baton__Apps__CatalogSync__Parallelism"] = "2",
        ["Baton__Apps__CatalogSync__ChunkDelay"] = chunkDelay,
        ["Baton__Apps__CatalogSync__DatabasePath"] = Path.Combine(directory, "catalog.db"),
        ["Baton__Apps__CatalogSync__BlobDirectory"] = Path.Combine(directory, "feeds"),
    };

    [Theory]
    [InlineData(ProductsTarget.Sqlite)]
    [InlineData(ProductsTarget.Postgres)]
    public async Task Sync_ServerKilledMidDownload_RestartResumesWithRangeAndTableEqualsFeed(ProductsTarget target)
    {
        // About 44 MB at 8 MB/s: the kill lands in the fetch phase, with the first chunks already applied.
        await using var feed = await CatalogFeedServer.StartAsync(new CatalogFeedOptions
        {
            Products = Products, User = SyncHarness.FeedUser, Password = SyncHarness.FeedSecret, BytesPerSecond = 8_000_000,
        });
        var directory = TestPaths.NewTempDirectory();
        await using var catalog = await CatalogTarget.CreateAsync(target, directory);
        var environment = Environment(feed, directory, chunkDelay: "00:00:00");
        foreach (var (key, value) in catalog.Settings())
        {
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        string runId;
        await using (var first = ServerProcess.Start(environment))
        {
            await first.WaitForLiveAsync();
            using var client = first.NewClient(SyncHarness.AdminKey);
            using (var started = await client.PostAsync("/sync", null))
            {
                runId = (await SyncHarness.ReadJsonAsync(started)).GetProperty("status").GetProperty("runId").GetString()!;
            }

            var status = await Poll.UntilAsync(
                () => StatusAsync(client),
                s => s.GetProperty("progress").GetProperty("bytes").GetInt64() >= 8_000_000 && s.GetProperty("progress").GetProperty("chunksProcessed").GetInt64() >= 1,
                "8 MB to be downloaded and a chunk applied",
                TimeSpan.FromSeconds(60));
            Assert.Equal("fetching", status.GetProperty("currentPhase").GetString());
            first.Kill();
        }

        // Chunks were applied from the part downloaded before the kill.
        Assert.InRange(catalog.Products().Count, 1, Products - 1);

        feed.Options.BytesPerSecond = 0;
        await using (var second = ServerProcess.Start(environment))
        {
            await second.WaitForLiveAsync();
            using var client = second.NewClient(SyncHarness.AdminKey);
            await AssertResumedAsync(client, runId);
            var run = await Poll.UntilAsync(
                async () => await SyncHarness.ReadJsonAsync(await client.GetAsync($"/api/runs/{runId}")),
                r => r.GetProperty("status").GetString() is "succeeded" or "failed",
                $"run {runId} to finish after the restart",
                TimeSpan.FromSeconds(120));

            Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
            Assert.True(run.GetProperty("output").GetProperty("resumed").GetBoolean());
            // Chunks applied before the kill are neither applied nor counted twice.
            Assert.Equal(Products, run.GetProperty("output").GetProperty("records").GetInt64());
            Assert.Equal(Products, run.GetProperty("output").GetProperty("inserted").GetInt64());
        }

        var ranges = feed.RangeHeaders.ToList();
        Assert.Equal(2, ranges.Count);
        Assert.Null(ranges[0]);
        Assert.InRange(long.Parse(ranges[1]![6..^1], System.Globalization.CultureInfo.InvariantCulture), 8_000_000, feed.BodyLength() - 1);
        CatalogDb.AssertEqual(CatalogDb.Expected(feed.BodyBytes()), catalog.Products());
        Assert.Empty(catalog.DeadLetters());
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The restarted server claims the run (its second execution) within <see cref="ResumeBound"/> of being live.</summary>
    private async Task AssertResumedAsync(HttpClient client, string runId)
    {
        var live = System.Diagnostics.Stopwatch.StartNew();
        await Poll.UntilAsync(
            async () => await SyncHarness.ReadJsonAsync(await client.GetAsync($"/api/runs/{runId}")),
            r => r.GetProperty("executions").GetInt32() >= 2,
            $"run {runId} to resume after the restart",
            TimeSpan.FromSeconds(60));
        output.WriteLine($"run {runId} resumed {live.Elapsed.TotalMilliseconds:0} ms after the restarted server was live");
        Assert.True(live.Elapsed < ResumeBound, $"the run resumed {live.Elapsed} after the restart, not within {ResumeBound}");
    }

    private static async Task<JsonElement> StatusAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/status");
        return await SyncHarness.ReadJsonAsync(response);
    }
}
