using System.Diagnostics.Metrics;
using Baton.Runs;

namespace Baton.Hosting;

/// <summary>
/// The engine's instruments, on the meter named <see cref="MeterName"/>. Tags: <c>workflow</c> on
/// run instruments; <c>workflow</c> and <c>outcome</c> on step duration.
/// </summary>
public sealed class BatonMetrics : IDisposable
{
    public const string MeterName = "Baton";

    private readonly Meter _meter;

    /// <param name="meterFactory">The host's meter factory; null creates a standalone meter.</param>
    public BatonMetrics(IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        RunsStarted = _meter.CreateCounter<long>("baton.runs.started", description: "Runs created.");
        RunsCompleted = _meter.CreateCounter<long>("baton.runs.completed", description: "Runs that reached a final state, by workflow and status.");
        StepDuration = _meter.CreateHistogram<double>("baton.step.duration", unit: "s", description: "Duration of step attempts.");
        ActiveRuns = _meter.CreateUpDownCounter<long>("baton.runs.active", description: "Runs executing on this node.");
        LeaseTakeovers = _meter.CreateCounter<long>("baton.lease.takeovers", description: "Runs claimed after another owner's lease expired.");
        Retries = _meter.CreateCounter<long>("baton.step.retries", description: "Step attempts retried after a failure.");
        RunsPruned = _meter.CreateCounter<long>("baton.runs.pruned", description: "Finished runs deleted after the retention period.");
    }

    public Counter<long> RunsStarted { get; }
    public Counter<long> RunsCompleted { get; }
    public Histogram<double> StepDuration { get; }
    public UpDownCounter<long> ActiveRuns { get; }
    public Counter<long> LeaseTakeovers { get; }
    public Counter<long> Retries { get; }
    public Counter<long> RunsPruned { get; }

    /// <summary>Counts a run that reached <paramref name="status"/>: by its executor, or by a cancel that found it pending.</summary>
    public void RunCompleted(string workflow, RunStatus status) =>
        RunsCompleted.Add(1, new KeyValuePair<string, object?>("workflow", workflow), new KeyValuePair<string, object?>("status", status.ToWireName()));

    /// <summary>Registers an observable gauge of runs waiting to be claimed (read from the store by the caller).</summary>
    public void ObserveQueuedRuns(Func<long> read) =>
        _meter.CreateObservableGauge("baton.runs.queued", read, description: "Runs stored and waiting for a worker.");

    public void Dispose() => _meter.Dispose();
}
