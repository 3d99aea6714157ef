using Baton.Runs;

namespace Baton.Server.Metrics;

/// <summary>
/// The engine's documented series, declared at zero when the server starts: one per registered workflow
/// (and final status, or step outcome), so dashboards and alerts see every metric from the first scrape
/// and a rate over a counter's first increment is not lost.
/// </summary>
internal static class ZeroSeries
{
    /// <summary>The engine's <c>outcome</c> tag values on step duration.</summary>
    private static readonly string[] StepOutcomes = ["succeeded", "failed"];

    public static void Declare(PrometheusExporter exporter, IReadOnlyCollection<string> workflows)
    {
        var statuses = Enum.GetValues<RunStatus>().Where(s => s.IsTerminal()).Select(s => s.ToWireName()).ToList();
        var byWorkflow = workflows.Select(w => new[] { Tag("workflow", w) }).ToList();
        exporter.DeclareSeries("baton.runs.started", byWorkflow);
        exporter.DeclareSeries("baton.lease.takeovers", byWorkflow);
        exporter.DeclareSeries("baton.step.retries", byWorkflow);
        exporter.DeclareSeries("baton.runs.completed", workflows.SelectMany(w => statuses.Select(s => new[] { Tag("workflow", w), Tag("status", s) })));
        exporter.DeclareSeries("baton.step.duration", workflows.SelectMany(w => StepOutcomes.Select(o => new[] { Tag("workflow", w), Tag("outcome", o) })));
        // Instruments without tags; the SQLite ones are published only on that store (else this is a no-op),
        // and the WAL gauge reports nothing until the checkpointer's first pass.
        foreach (var name in new[] { "baton.runs.active", "baton.runs.pruned", "baton.sqlite.writer.busy", "baton.sqlite.writer.commits", "baton.sqlite.writer.operations", "baton.sqlite.wal.frames" })
        {
            exporter.DeclareSeries(name, [[]]);
        }
    }

    private static KeyValuePair<string, object?> Tag(string name, string value) => new(name, value);
}
