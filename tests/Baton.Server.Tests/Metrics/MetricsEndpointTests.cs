using System.Net;
using Baton.Server.Tests.Infrastructure;
using Baton.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Server.Tests.Metrics;

public sealed class MetricsEndpointTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Metrics_DetailedHttpSetting_PerRequestDetailOnlyWhenOn(bool detailed)
    {
        await using var server = await InProcessServer.StartAsync(new Dictionary<string, string> { ["Baton:Metrics:DetailedHttp"] = detailed ? "true" : "false" });
        // The test's HttpClient runs in the server's process, so its outbound meters are HttpClient's instruments on /metrics too.
        for (var i = 0; i < 3; i++)
        {
            using var api = await server.Client.GetAsync("/api/workflows");
            Assert.Equal(HttpStatusCode.OK, api.StatusCode);
        }

        using var response = await server.Anonymous.GetAsync("/metrics");
        var types = PrometheusText.Parse(await response.Content.ReadAsStringAsync()).Types;

        // The documented HTTP series are there either way.
        Assert.Equal("histogram", types["http_server_request_duration_seconds"]);
        Assert.Equal("histogram", types["http_client_request_duration_seconds"]);
        Assert.Contains(types.Keys, k => k.StartsWith("kestrel_", StringComparison.Ordinal));
        string[] perRequest =
        [
            "http_server_active_requests", "http_client_active_requests", "http_client_open_connections",
            "aspnetcore_routing_match_attempts_total", "aspnetcore_authorization_attempts_total",
        ];
        foreach (var name in perRequest)
        {
            Assert.Equal((name, detailed), (name, types.ContainsKey(name)));
        }
    }

    [Fact]
    public async Task Metrics_AfterRuns_ExposesEngineInstrumentsInPrometheusFormat()
    {
        await using var server = await InProcessServer.StartAsync(
            new Dictionary<string, string> { ["Baton:Engine:RunWorker"] = "true" },
            (_, baton) => TestWorkflows.AddQuick(baton));
        var (_, run) = await server.StartRunAsync("quick", """{"n":4}""");
        await server.WaitForStatusAsync(run.GetProperty("id").GetString()!, "succeeded");
        var (_, failing) = await server.StartRunAsync("demo", """{"items":1,"delayMs":0,"fail":true}""");
        await server.WaitForStatusAsync(failing.GetProperty("id").GetString()!, "failed");
        // A run's end is counted just after it is stored, which is what the wait above saw.
        await Poll.UntilAsync(() => ScrapeAsync(server), e => CompletedCount(e, "quick", "succeeded") == 1 && CompletedCount(e, "demo", "failed") == 1, "both runs to be counted");

        using var response = await server.Anonymous.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        var exposition = PrometheusText.Parse(text);
        Assert.Equal(1, exposition.Named("baton_runs_started_total").Single(s => s.Labels["workflow"] == "quick").Value);
        Assert.Equal(1, exposition.Named("baton_runs_completed_total").Single(s => s.Labels["workflow"] == "quick" && s.Labels["status"] == "succeeded").Value);
        Assert.Equal(1, exposition.Named("baton_runs_completed_total").Single(s => s.Labels["workflow"] == "demo" && s.Labels["status"] == "failed").Value);
        Assert.Equal("histogram", exposition.Types["baton_step_duration_seconds"]);
        Assert.True(exposition.Named("baton_step_duration_seconds_count").Sum(s => s.Value) >= 3);
        Assert.Contains(exposition.Named("baton_step_duration_seconds_bucket"), s => s.Labels["le"] == "+Inf" && s.Labels["workflow"] == "quick");
        Assert.Equal("gauge", exposition.Types["baton_runs_active"]);
        Assert.Equal(0, exposition.Named("baton_runs_queued").Single().Value);
        Assert.Equal("counter", exposition.Types["baton_lease_takeovers_total"]);
        Assert.Equal("counter", exposition.Types["baton_step_retries_total"]);
        // The SQLite store's writer: every run above was written through it.
        Assert.True(exposition.Named("baton_sqlite_writer_busy_seconds_total").Single().Value > 0);
        var commits = exposition.Named("baton_sqlite_writer_commits_total").Single().Value;
        Assert.True(commits > 0);
        Assert.True(exposition.Named("baton_sqlite_writer_operations_total").Single().Value >= commits);
    }

    [Fact]
    public async Task Metrics_FreshServer_ExportsEveryDocumentedMetricAtZero()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(TestPaths.RepoRoot, "README.md"));
        var row = readme.Split('\n').Single(l => l.StartsWith("| `GET /metrics`", StringComparison.Ordinal));
        var documented = System.Text.RegularExpressions.Regex.Matches(row, "`(baton_[a-z_]+)[`{]").Select(m => m.Groups[1].Value).Distinct().ToList();
        await using var server = await InProcessServer.StartAsync(configure: (_, baton) => TestWorkflows.AddQuick(baton));

        var exposition = await ScrapeAsync(server);

        Assert.True(documented.Count >= 12, $"the README's /metrics row names {documented.Count} metrics");
        // A histogram cannot be declared at zero through the OpenTelemetry SDK (that would count a measurement): step
        // duration appears with the first step; the WAL gauge reports from the checkpointer's first pass, 100 ms after
        // start (MetricsContractTests checks every documented name after a run).
        foreach (var name in documented.Where(n => n is not ("baton_step_duration_seconds" or "baton_sqlite_wal_frames")))
        {
            var samples = exposition.Types.TryGetValue(name, out var type) && type == "histogram" ? exposition.Named(name + "_count") : exposition.Named(name);
            Assert.True(samples.Any(), $"{name} is documented but has no sample on a fresh server");
        }

        foreach (var workflow in new[] { "demo", "quick" })
        {
            Assert.Equal(0, exposition.Named("baton_runs_started_total").Single(s => s.Labels["workflow"] == workflow).Value);
            Assert.Equal(0, exposition.Named("baton_runs_completed_total").Single(s => s.Labels["workflow"] == workflow && s.Labels["status"] == "failed").Value);
            Assert.Equal(0, exposition.Named("baton_lease_takeovers_total").Single(s => s.Labels["workflow"] == workflow).Value);
            Assert.Equal(0, exposition.Named("baton_step_retries_total").Single(s => s.Labels["workflow"] == workflow).Value);
        }

        Assert.Equal(0, exposition.Named("baton_runs_active").Single().Value);
        Assert.Equal(0, exposition.Named("baton_runs_pruned_total").Single().Value);
    }

    [Fact]
    public async Task Metrics_CompensatedRun_CountsCompletedWithStatusCompensated()
    {
        await using var server = await InProcessServer.StartAsync(configure: (_, baton) => TestWorkflows.AddSaga(baton));
        var (_, run) = await server.StartRunAsync("saga", """{"n":1}""");
        await server.WaitForStatusAsync(run.GetProperty("id").GetString()!, "compensated");

        // A run's end is counted just after it is stored, which is what the wait above saw.
        var exposition = await Poll.UntilAsync(
            () => ScrapeAsync(server), e => e.Named("baton_runs_completed_total").Any(s => s.Labels["workflow"] == "saga" && s.Value > 0), "the run to be counted");

        // Every final status has a series from the start (at zero); only one may have counted the run.
        var completed = exposition.Named("baton_runs_completed_total").Where(s => s.Labels["workflow"] == "saga" && s.Value > 0).ToList();
        Assert.Equal("compensated", Assert.Single(completed).Labels["status"]);
        Assert.Equal(1, completed[0].Value);
    }

    [Fact]
    public async Task Metrics_RetriedStep_IncrementsStepRetries()
    {
        await using var server = await InProcessServer.StartAsync(configure: (_, baton) => TestWorkflows.AddFlaky(baton));
        var before = Total(await ScrapeAsync(server), "baton_step_retries_total", "flaky");

        var (_, first) = await server.StartRunAsync("flaky", """{"n":1}""");
        var done = await server.WaitForStatusAsync(first.GetProperty("id").GetString()!, "succeeded");
        var afterOne = Total(await ScrapeAsync(server), "baton_step_retries_total", "flaky");
        var (_, second) = await server.StartRunAsync("flaky", """{"n":2}""");
        await server.WaitForStatusAsync(second.GetProperty("id").GetString()!, "succeeded");
        var afterTwo = Total(await ScrapeAsync(server), "baton_step_retries_total", "flaky");

        Assert.Equal(2, done.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("key").GetString() == "call").GetProperty("attemptCount").GetInt32());
        Assert.Equal(0, before);
        Assert.Equal(1, afterOne);
        Assert.Equal(2, afterTwo);
    }

    [Fact]
    public async Task Metrics_RunLeftByADeadNode_IncrementsLeaseTakeovers()
    {
        await using var server = await InProcessServer.StartAsync(configure: (_, baton) => TestWorkflows.AddQuick(baton));
        var store = server.Services.GetRequiredService<IBatonStore>();
        var before = Total(await ScrapeAsync(server), "baton_lease_takeovers_total", "quick");

        // A run that another node claimed and then died holding: it becomes claimable here only when that lease
        // expires, one second from now. Created leased in one write, so this node's worker cannot take it first
        // however long this test is held up between two calls (a create, then a claim, left it a window).
        var now = DateTimeOffset.UtcNow;
        var expires = now.AddSeconds(1);
        var id = Guid.CreateVersion7(now).ToString("N");
        var created = await store.Runs.CreateRunAsync(new CreateRunRequest
        {
            Id = id, Workflow = "quick", Input = """{"n":5}""", Now = now, LeaseOwner = "dead-node", LeaseExpiresAt = expires,
        });
        Assert.Equal(("dead-node", 1), (created.Run.LeaseOwner, created.Run.Executions));

        var run = await server.WaitForStatusAsync(id, "succeeded");
        var after = Total(await ScrapeAsync(server), "baton_lease_takeovers_total", "quick");

        Assert.Equal(2, run.GetProperty("executions").GetInt32());
        Assert.Equal(10, run.GetProperty("output").GetInt32());
        Assert.Equal(0, before);
        Assert.Equal(1, after);
    }

    [Fact]
    public async Task Metrics_RunsWaitingWithoutWorker_CountsQueuedRuns()
    {
        await using var server = await InProcessServer.StartAsync(
            new Dictionary<string, string> { ["Baton:Engine:RunWorker"] = "false" },
            (_, baton) => TestWorkflows.AddQuick(baton));
        for (var i = 0; i < 3; i++)
        {
            await server.StartRunAsync("quick", $$"""{"n":{{i}}}""");
        }

        using var response = await server.Anonymous.GetAsync("/metrics");
        var exposition = PrometheusText.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(3, exposition.Named("baton_runs_queued").Single().Value);
    }

    [Fact]
    public async Task QueuedGauge_CollectedWithoutAScrape_CountsThePendingRuns()
    {
        // OTLP's periodic reader collects the gauge without any scrape of /metrics. Before, only a scrape counted the
        // pending runs: an OTLP-only deployment exported 0 (or the last scrape's count) for ever. Collected here as the
        // OpenTelemetry SDK does, by reading the observable instrument of this host's meter.
        await using var server = await InProcessServer.StartAsync(
            new Dictionary<string, string> { ["Baton:Engine:RunWorker"] = "false" },
            (_, baton) => TestWorkflows.AddQuick(baton));
        for (var i = 0; i < 3; i++)
        {
            await server.StartRunAsync("quick", $$"""{"n":{{i}}}""");
        }

        var factory = server.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var observed = new List<long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "baton.runs.queued" && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => observed.Add(value));
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.Equal([3L], observed);
    }

    [Fact]
    public async Task Metrics_PendingRunCancelled_CountsCompletedWithStatusCancelled()
    {
        // A run cancelled while pending ends without an executor, which is what counted ends. Before, it was never counted:
        // started minus completed stayed above 0 for ever.
        await using var server = await InProcessServer.StartAsync(
            new Dictionary<string, string> { ["Baton:Engine:RunWorker"] = "false" },
            (_, baton) => TestWorkflows.AddQuick(baton));
        var (_, run) = await server.StartRunAsync("quick", """{"n":1}""");
        await server.StartRunAsync("quick", """{"n":2}""");

        using var cancel = await server.Client.PostAsync($"/api/runs/{run.GetProperty("id").GetString()}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);

        var exposition = await ScrapeAsync(server);
        Assert.Equal(1, CompletedCount(exposition, "quick", "cancelled"));
        Assert.Equal(2, Total(exposition, "baton_runs_started_total", "quick"));
        Assert.Equal(1, exposition.Named("baton_runs_queued").Single().Value);
    }

    [Fact]
    public async Task Metrics_TwoHostsInOneProcess_EachCountsOnlyItsOwnRuns()
    {
        await using var busy = await InProcessServer.StartAsync(configure: (_, baton) => TestWorkflows.AddQuick(baton));
        await using var idle = await InProcessServer.StartAsync(configure: (_, baton) => TestWorkflows.AddQuick(baton));
        for (var i = 0; i < 3; i++)
        {
            var (_, run) = await busy.StartRunAsync("quick", $$"""{"n":{{i}}}""");
            await busy.WaitForStatusAsync(run.GetProperty("id").GetString()!, "succeeded");
        }

        var busyScrape = await ScrapeAsync(busy);
        var idleScrape = await ScrapeAsync(idle);

        // The OpenTelemetry SDK listens to every meter named Baton in the process; its view drops other hosts' meters.
        Assert.Equal(3, Total(busyScrape, "baton_runs_started_total", "quick"));
        Assert.Equal(0, Total(idleScrape, "baton_runs_started_total", "quick"));
        Assert.Equal(0, idleScrape.Named("baton_step_duration_seconds_count").Sum(s => s.Value));
    }

    private static double CompletedCount(PrometheusText.Exposition exposition, string workflow, string status) =>
        exposition.Named("baton_runs_completed_total").SingleOrDefault(s => s.Labels["workflow"] == workflow && s.Labels["status"] == status)?.Value ?? 0;

    private static async Task<PrometheusText.Exposition> ScrapeAsync(InProcessServer server)
    {
        using var response = await server.Anonymous.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }

    /// <summary>The sum of a family's samples for one workflow; 0 when it has none yet.</summary>
    private static double Total(PrometheusText.Exposition exposition, string name, string workflow) =>
        exposition.Named(name).Where(s => s.Labels.TryGetValue("workflow", out var w) && w == workflow).Sum(s => s.Value);
}
