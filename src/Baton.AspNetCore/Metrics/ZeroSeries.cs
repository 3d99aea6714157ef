using System.Diagnostics.Metrics;
using Baton.Runs;

namespace Baton.Server.Metrics;

/// <summary>
/// The engine's documented counters, declared at zero when the server starts: one series per registered workflow
/// (and final status), so dashboards and alerts see them from the first scrape and a rate over a counter's first
/// increment is not lost. A counter of this host's "Baton" meter gets an <c>Add(0)</c> per tag set; histograms
/// cannot be declared without counting a measurement, so step duration appears with the first step.
/// </summary>
internal static class ZeroSeries
{
    public static void Declare(IMeterFactory meterFactory, IReadOnlyCollection<string> workflows)
    {
        var statuses = Enum.GetValues<RunStatus>().Where(s => s.IsTerminal()).Select(s => s.ToWireName()).ToList();
        var byWorkflow = workflows.Select(w => new[] { Tag("workflow", w) }).ToList();
        var tagSets = new Dictionary<string, List<KeyValuePair<string, object?>[]>>(StringComparer.Ordinal)
        {
            ["baton.runs.started"] = byWorkflow,
            ["baton.lease.takeovers"] = byWorkflow,
            ["baton.step.retries"] = byWorkflow,
            ["baton.runs.completed"] = [.. workflows.SelectMany(w => statuses.Select(s => new[] { Tag("workflow", w), Tag("status", s) }))],
            // Instruments without tags; the SQLite ones exist only on that store.
            ["baton.runs.active"] = [[]],
            ["baton.runs.pruned"] = [[]],
            ["baton.sqlite.writer.busy"] = [[]],
            ["baton.sqlite.writer.commits"] = [[]],
            ["baton.sqlite.writer.operations"] = [[]],
            ["baton.postgres.writer.busy"] = [[]],
            ["baton.postgres.writer.commits"] = [[]],
            ["baton.postgres.writer.operations"] = [[]],
        };

        // A listener sees every instrument already published; only this host's are touched.
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (!ReferenceEquals(instrument.Meter.Scope, meterFactory) || !tagSets.TryGetValue(instrument.Name, out var sets))
            {
                return;
            }

            foreach (var tags in sets)
            {
                switch (instrument)
                {
                    case Counter<long> counter:
                        counter.Add(0, tags);
                        break;
                    case Counter<double> counter:
                        counter.Add(0, tags);
                        break;
                    case UpDownCounter<long> upDown:
                        upDown.Add(0, tags);
                        break;
                }
            }
        };
        listener.Start();
    }

    private static KeyValuePair<string, object?> Tag(string name, string value) => new(name, value);
}
