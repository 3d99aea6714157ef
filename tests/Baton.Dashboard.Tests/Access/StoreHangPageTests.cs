using System.Net;
using System.Text.Json;
using Baton.Dashboard.Tests.Infrastructure;

namespace Baton.Dashboard.Tests.Access;

/// <summary>The dashboard's pages on a PostgreSQL that hangs: a 503 at Baton:RequestTimeout, not a page that never loads.</summary>
public sealed class StoreHangPageTests
{
    [Fact]
    public async Task PageAndForm_PostgresFrozenWithSigstop_503StoreUnavailableWithinTheRequestTimeout()
    {
        // Every PostgreSQL process stopped with SIGSTOP: connections open, no answer. Before, a page waited for the driver
        // (15 s to a minute), past this client's 30 s.
        await using var cluster = await PostgresCluster.StartAsync();
        var connectionString = await cluster.CreateDatabaseAsync("baton");
        await using var server = await DashboardServer.StartAsync(extra: new Dictionary<string, string?>
        {
            ["BATON_STORE"] = "postgres",
            ["BATON_POSTGRES"] = connectionString,
            ["Baton__RequestTimeout"] = "00:00:03",
        });
        using var client = server.NewBrowserlessClient();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();
        var token = DashboardServer.FormToken(await client.GetStringAsync("/ui/runs"));

        await cluster.FreezeServerAsync();
        HttpResponseMessage page, form;
        try
        {
            var reading = client.GetAsync("/ui/runs");
            var starting = client.PostAsync("/ui/runs", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__RequestVerificationToken"] = token,
                ["workflow"] = "demo",
                ["input"] = """{"items":1,"delayMs":1}""",
            }));
            (page, form) = (await reading, await starting);
        }
        finally
        {
            await cluster.ResumeServerAsync();
        }

        foreach (var response in new[] { page, form })
        {
            using (response)
            {
                using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.Equal("urn:baton:problem:store-unavailable", problem.RootElement.GetProperty("type").GetString());
                Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
                var detail = problem.RootElement.GetProperty("detail").GetString()!;
                Assert.StartsWith("the store did not answer within 3 s", detail, StringComparison.Ordinal);
                // The form's answer says how to repeat it safely, in the dashboard's terms (not the API's Idempotency-Key).
                Assert.Equal(response == form, detail.Contains("look at its page before repeating it", StringComparison.Ordinal));
                Assert.DoesNotContain("Idempotency-Key", detail, StringComparison.Ordinal);
            }
        }

        // The store answers again: so does the page.
        var after = await Poll.UntilAsync(async () => (await client.GetAsync("/ui/runs")).StatusCode, s => s == HttpStatusCode.OK, "/ui/runs once PostgreSQL goes on");
        Assert.Equal(HttpStatusCode.OK, after);
    }
}
