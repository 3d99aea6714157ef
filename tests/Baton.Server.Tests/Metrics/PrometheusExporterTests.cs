using System.Diagnostics.Metrics;
using Baton.Server.Metrics;
using Baton.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Server.Tests.Metrics;

public sealed class PrometheusExporterTests
{
    [Fact]
    public void Collect_EveryInstrumentKind_WritesValidExposition()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        using var exporter = new PrometheusExporter(factory, ["Baton"]);
        var meter = factory.Create("Baton");
        var counter = meter.CreateCounter<long>("baton.runs.started", description: "Runs created.");
        var histogram = meter.CreateHistogram<double>("baton.step.duration", unit: "s", description: "Duration of step attempts.");
        var upDown = meter.CreateUpDownCounter<long>("baton.runs.active");
        meter.CreateObservableGauge("baton.runs.queued", () => 7L, description: "Queued\nruns \\ waiting");

        counter.Add(2, new KeyValuePair<string, object?>("workflow", "demo"));
        counter.Add(3, new KeyValuePair<string, object?>("workflow", "demo"));
        counter.Add(1, new KeyValuePair<string, object?>("workflow", "we\"ird\\name\nx"));
        histogram.Record(0.2, new KeyValuePair<string, object?>("workflow", "demo"), new KeyValuePair<string, object?>("outcome", "succeeded"));
        histogram.Record(3, new KeyValuePair<string, object?>("workflow", "demo"), new KeyValuePair<string, object?>("outcome", "succeeded"));
        histogram.Record(1000, new KeyValuePair<string, object?>("workflow", "demo"), new KeyValuePair<string, object?>("outcome", "succeeded"));
        upDown.Add(3);
        upDown.Add(-1);

        var text = exporter.Collect();
        var exposition = PrometheusText.Parse(text);

        Assert.Equal("counter", exposition.Types["baton_runs_started_total"]);
        Assert.Equal("histogram", exposition.Types["baton_step_duration_seconds"]);
        Assert.Equal("gauge", exposition.Types["baton_runs_active"]);
        Assert.Equal("gauge", exposition.Types["baton_runs_queued"]);
        Assert.Equal(@"Queued\nruns \\ waiting", exposition.Help["baton_runs_queued"]);

        var started = exposition.Named("baton_runs_started_total").ToList();
        Assert.Equal(5, started.Single(s => s.Labels["workflow"] == "demo").Value);
        Assert.Equal(1, started.Single(s => s.Labels["workflow"] == "we\"ird\\name\nx").Value);
        Assert.Contains("workflow=\"we\\\"ird\\\\name\\nx\"", text, StringComparison.Ordinal);

        var buckets = exposition.Named("baton_step_duration_seconds_bucket").ToList();
        Assert.All(buckets, b => Assert.Equal("succeeded", b.Labels["outcome"]));
        Assert.Equal(1, buckets.Single(b => b.Labels["le"] == "0.25").Value);
        Assert.Equal(2, buckets.Single(b => b.Labels["le"] == "5").Value);
        Assert.Equal(3, buckets.Single(b => b.Labels["le"] == "+Inf").Value);
        var cumulative = buckets.Select(b => b.Value).ToList();
        Assert.Equal(cumulative.Order(), cumulative);
        Assert.Equal(1003.2, exposition.Named("baton_step_duration_seconds_sum").Single().Value, 6);
        Assert.Equal(3, exposition.Named("baton_step_duration_seconds_count").Single().Value);
        Assert.Equal(2, exposition.Named("baton_runs_active").Single().Value);
        Assert.Equal(7, exposition.Named("baton_runs_queued").Single().Value);
    }

    [Fact]
    public void Collect_SameLabelsGivenInAnotherOrderOrType_AddUpInOneSeries()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        using var exporter = new PrometheusExporter(factory, ["Baton"]);
        var counter = factory.Create("Baton").CreateCounter<long>("baton.runs.finished");
        KeyValuePair<string, object?> Tag(string name, object? value) => new(name, value);

        for (var i = 0; i < 3; i++)
        {
            counter.Add(1, Tag("workflow", "demo"), Tag("attempt", 1));
            counter.Add(10, Tag("attempt", "1"), Tag("workflow", "demo"));
            counter.Add(100, Tag("workflow", "demo"), Tag("attempt", 2));
        }

        var series = PrometheusText.Parse(exporter.Collect()).Named("baton_runs_finished_total").ToList();
        Assert.Equal(2, series.Count);
        Assert.Equal(33, series.Single(s => s.Labels["attempt"] == "1").Value);
        Assert.Equal(300, series.Single(s => s.Labels["attempt"] == "2").Value);
    }

    [Fact]
    public void Collect_MeterOfAnotherFactory_IsNotExported()
    {
        using var ours = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var theirs = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var exporter = new PrometheusExporter(ours.GetRequiredService<IMeterFactory>(), ["Baton"]);
        var other = theirs.GetRequiredService<IMeterFactory>().Create("Baton");
        other.CreateCounter<long>("baton.runs.started").Add(1);
        using var unrelated = new Meter("Baton");
        unrelated.CreateCounter<long>("baton.runs.started").Add(1);

        Assert.Empty(PrometheusText.Parse(exporter.Collect()).Samples);
    }

    [Theory]
    [InlineData("baton.runs.started", null, true, "baton_runs_started_total")]
    [InlineData("baton.step.duration", "s", false, "baton_step_duration_seconds")]
    [InlineData("baton.lease-takeovers", null, true, "baton_lease_takeovers_total")]
    [InlineData("9lives", "{run}", false, "_9lives")]
    [InlineData("already_total", null, true, "already_total")]
    public void MetricName_InstrumentName_FollowsPrometheusRules(string instrument, string? unit, bool counter, string expected) =>
        Assert.Equal(expected, PrometheusExporter.MetricName(instrument, unit, counter));
}
