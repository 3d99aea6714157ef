namespace Baton.Diagnostics;

/// <summary>
/// The names of Baton's traces, for a host's OpenTelemetry set-up: <c>tracing.AddSource(BatonDiagnostics.ActivitySourceName)</c>.
/// Metrics are on the meter named <see cref="Hosting.BatonMetrics.MeterName"/>.
/// </summary>
/// <remarks>
/// Spans: <c>run {workflow}</c> per execution of a run (a run resumed after a crash, a timer or a retry has one per
/// execution, each a child of the context stored when the run was started, so they all share its trace);
/// <c>step {key}</c> per step attempt, the parent of whatever the step's code does (an HttpClient call is its child);
/// <c>compensate {step}</c> per compensation, the parent of its attempts. A span of an attempt or run that failed
/// has status Error.
/// </remarks>
public static class BatonDiagnostics
{
    /// <summary>The name of Baton's <see cref="System.Diagnostics.ActivitySource"/>: "Baton".</summary>
    public const string ActivitySourceName = "Baton";

    /// <summary>Tag: the run's id.</summary>
    public const string RunIdTag = "baton.run.id";

    /// <summary>Tag: the workflow's name.</summary>
    public const string WorkflowTag = "baton.workflow";

    /// <summary>Tag: the step's key (its name, <c>name#2</c> for the second step of that name, ...).</summary>
    public const string StepTag = "baton.step";

    /// <summary>Tag: the attempt's number, from 1.</summary>
    public const string AttemptTag = "baton.attempt";

    /// <summary>Tag: how many times the run has been claimed, 1 on its first execution.</summary>
    public const string ExecutionTag = "baton.execution";

    /// <summary>
    /// Tag: how the span ended. Runs: a final status (<c>succeeded</c>, <c>failed</c>, <c>cancelled</c>, <c>compensated</c>,
    /// <c>compensation_failed</c>), <c>suspended</c>, <c>interrupted</c> or <c>lease_lost</c>. Attempts: <c>succeeded</c>,
    /// <c>failed</c>, <c>timed_out</c>, <c>cancelled</c> or <c>interrupted</c>. Compensations: <c>succeeded</c> or <c>failed</c>.
    /// </summary>
    public const string OutcomeTag = "baton.outcome";
}
