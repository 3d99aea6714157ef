using System.Net;
using Baton.Server.Tests.Infrastructure;

namespace Baton.Server.Tests.Metrics;

public sealed class MetricsEndpointTests
{
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
}
