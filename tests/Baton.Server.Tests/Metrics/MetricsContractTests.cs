using System.Net;
using System.Text.RegularExpressions;
using Baton.Server.Tests.Infrastructure;

namespace Baton.Server.Tests.Metrics;

/// <summary>
/// The contract of <c>/metrics</c> as users scrape it: a real server process, after a run, exposes every metric the
/// README names with the type its name promises, beside the ASP.NET Core and runtime meters.
/// </summary>
public sealed partial class MetricsContractTests
{
    private const string Key = "metrics-contract-key-7e2c";

    [Fact]
    public async Task Metrics_RealServerAfterRun_ExposesEveryDocumentedNameWithItsType()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(TestPaths.RepoRoot, "README.md"));
        var row = readme.Split('\n').Single(l => l.StartsWith("| `GET /metrics`", StringComparison.Ordinal));
        var documented = DocumentedName().Matches(row).Select(m => m.Groups[1].Value).Distinct().ToList();
        await using var server = ServerProcess.Start(new Dictionary<string, string?>
        {
            ["ADMIN_KEY"] = Key,
            ["Baton__Store__Sqlite__Path"] = Path.Combine(TestPaths.NewTempDirectory(), "baton.db"),
        });
        await server.WaitForLiveAsync();
        using var client = server.NewClient(Key);
        using var started = await client.PostAsync("/api/workflows/demo/runs", InProcessServer.Json("""{"items":2,"delayMs":0}"""));
        var id = (await InProcessServer.ReadJsonAsync(started)).GetProperty("id").GetString()!;
        await Poll.UntilAsync(
            async () => await InProcessServer.ReadJsonAsync(await client.GetAsync($"/api/runs/{id}")),
            run => run.GetProperty("status").GetString() == "succeeded",
            "the demo run to succeed");

        using var anonymous = server.NewClient(null);
        // The WAL gauge reports from the SQLite checkpointer's first pass (100 ms after start) on.
        var (status, exposition) = await Poll.UntilAsync(
            async () =>
            {
                using var response = await anonymous.GetAsync("/metrics");
                return (response.StatusCode, PrometheusText.Parse(await response.Content.ReadAsStringAsync()));
            },
            scrape => scrape.Item2.Types.ContainsKey("baton_sqlite_wal_frames"),
            "the WAL gauge's first report");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(documented.Count >= 12, $"the README's /metrics row names {documented.Count} metrics");
        foreach (var name in documented)
        {
            var expected = name == "baton_step_duration_seconds" ? "histogram" : name.EndsWith("_total", StringComparison.Ordinal) ? "counter" : "gauge";
            Assert.True(exposition.Types.TryGetValue(name, out var type), $"{name} is documented but not exposed");
            Assert.Equal((name, expected), (name, type));
            var samples = type == "histogram" ? exposition.Named(name + "_count") : exposition.Named(name);
            Assert.True(samples.Any(), $"{name} has no sample");
        }

        // Step duration in seconds: the buckets are the ones set for seconds, not the SDK's millisecond defaults.
        var bounds = exposition.Named("baton_step_duration_seconds_bucket").Select(s => s.Labels["le"]).Distinct().ToList();
        Assert.Contains("0.005", bounds);
        Assert.Contains("300", bounds);
        Assert.Equal("histogram", exposition.Types["http_server_request_duration_seconds"]);
        Assert.Contains(exposition.Types.Keys, k => k.StartsWith("dotnet_", StringComparison.Ordinal));
    }

    [GeneratedRegex("`(baton_[a-z_]+)[`{]")]
    private static partial Regex DocumentedName();
}
