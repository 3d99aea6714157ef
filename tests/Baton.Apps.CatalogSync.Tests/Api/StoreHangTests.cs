using System.Net;
using Baton.Apps.CatalogSync.Tests.Infrastructure;

namespace Baton.Apps.CatalogSync.Tests.Api;

/// <summary>Seed 000's routes on a PostgreSQL that hangs: answered at Baton:RequestTimeout, not held for the whole hang.</summary>
public sealed class StoreHangTests
{
    [Fact]
    public async Task StatusAndSync_PostgresFrozenWithSigstop_503StoreUnavailableWithinTheRequestTimeout()
    {
        // Every PostgreSQL process stopped with SIGSTOP: connections open, no answer. Before: /status and /sync waited for
        // the driver (15 s and more), past this client's 30 s; now both answer at the request timeout, 3 s here.
        await using var cluster = await PostgresCluster.StartAsync();
        var connectionString = await cluster.CreateDatabaseAsync("baton");
        await using var sync = await SyncHarness.StartAsync(settings: new Dictionary<string, string>
        {
            ["BATON_STORE"] = "postgres",
            ["BATON_POSTGRES"] = connectionString,
            ["Baton:RequestTimeout"] = "00:00:03",
        });
        await sync.StatusAsync();

        await cluster.FreezeServerAsync();
        HttpResponseMessage status, start, startByGet;
        try
        {
            var reading = sync.Client.GetAsync("/status");
            var starting = sync.Client.PostAsync("/sync", null);
            // GET /sync starts a sync too (for cron, with the key in the query).
            var startingByGet = sync.Client.GetAsync($"/sync?key={SyncHarness.AdminKey}");
            (status, start, startByGet) = (await reading, await starting, await startingByGet);
        }
        finally
        {
            await cluster.ResumeServerAsync();
        }

        foreach (var response in new[] { status, start, startByGet })
        {
            using (response)
            {
                var problem = await SyncHarness.ReadJsonAsync(response);
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.Equal("urn:baton:problem:store-unavailable", problem.GetProperty("type").GetString());
                Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
                var detail = problem.GetProperty("detail").GetString();
                Assert.StartsWith("the store did not answer within 3 s", detail, StringComparison.Ordinal);
                // /sync takes no Idempotency-Key: its detail says how a repeat is safe for it (the API's advised the key).
                Assert.DoesNotContain("Idempotency-Key", detail, StringComparison.Ordinal);
                Assert.Equal(response != status, detail!.Contains("answered 409", StringComparison.Ordinal));
            }
        }

        // The store answers again: so does /status.
        var after = await Poll.UntilAsync(async () => (await sync.Client.GetAsync("/status")).StatusCode, s => s == HttpStatusCode.OK, "/status once PostgreSQL goes on");
        Assert.Equal(HttpStatusCode.OK, after);
    }
}
