using System.Diagnostics;
using Baton.Runs;
using Baton.Storage;

namespace Baton.Diagnostics;

/// <summary>
/// Baton's spans. Every method costs a single check when nothing listens to the "Baton" source, and a run's stored
/// trace context is read only when something does.
/// </summary>
internal static class BatonTracing
{
    public static readonly ActivitySource Source = new(BatonDiagnostics.ActivitySourceName, typeof(BatonTracing).Assembly.GetName().Version?.ToString());

    /// <summary>
    /// The W3C context of the current span, to store with a run being created; nulls when there is none, and when the span
    /// is not sampled (<see cref="Activity.Recorded"/> false) while nothing listens to the "Baton" source. Such a span is one
    /// nobody exports (ASP.NET Core starts one for every request when its logging is on): storing it would cost a string
    /// and 55 bytes per run row for a trace that no backend holds.
    /// </summary>
    public static (string? TraceParent, string? TraceState) CaptureCurrent()
    {
        var current = Activity.Current;
        if (current is not { IdFormat: ActivityIdFormat.W3C } || !current.Recorded && !Source.HasListeners())
        {
            return (null, null);
        }

        return (current.Id, current.TraceStateString);
    }

    /// <summary>Starts the span of one execution of <paramref name="run"/>, a child of its stored context when it has one.</summary>
    public static Activity? StartRun(RunRecord run)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        // A run with no stored context (none was current at its start, or stored before traces) is a root span.
        ActivityContext.TryParse(run.TraceParent, run.TraceState, isRemote: true, out var parent);
        var activity = Source.StartActivity($"run {run.Workflow}", ActivityKind.Internal, parent);
        activity?.SetTag(BatonDiagnostics.RunIdTag, run.Id)
            .SetTag(BatonDiagnostics.WorkflowTag, run.Workflow)
            .SetTag(BatonDiagnostics.ExecutionTag, run.Executions);
        return activity;
    }

    /// <summary>Tags how an execution ended; a failed run gets status Error with its failure's message.</summary>
    public static void RunEnded(Activity? activity, RunStatus status, RunFailure? failure)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag(BatonDiagnostics.OutcomeTag, status.ToWireName());
        if (status is RunStatus.Failed or RunStatus.Compensated or RunStatus.CompensationFailed)
        {
            activity.SetStatus(ActivityStatusCode.Error, failure?.Message);
        }
    }

    /// <summary>Tags an execution that stopped without a final status (<c>suspended</c>, <c>interrupted</c>, <c>lease_lost</c>).</summary>
    public static void RunPaused(Activity? activity, string outcome) => activity?.SetTag(BatonDiagnostics.OutcomeTag, outcome);

    /// <summary>Starts the span of one attempt of a step (or of a compensation's attempt); the step's code runs inside it.</summary>
    public static Activity? StartAttempt(string runId, string workflow, string key, int attempt)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity($"step {key}");
        activity?.SetTag(BatonDiagnostics.RunIdTag, runId)
            .SetTag(BatonDiagnostics.WorkflowTag, workflow)
            .SetTag(BatonDiagnostics.StepTag, key)
            .SetTag(BatonDiagnostics.AttemptTag, attempt);
        return activity;
    }

    /// <summary>Starts the span of one compensation, the parent of its attempts.</summary>
    public static Activity? StartCompensation(string runId, string workflow, string step)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity($"compensate {step}");
        activity?.SetTag(BatonDiagnostics.RunIdTag, runId)
            .SetTag(BatonDiagnostics.WorkflowTag, workflow)
            .SetTag(BatonDiagnostics.StepTag, step);
        return activity;
    }

    /// <summary>Tags and stops a step attempt's or compensation's span; an error sets status Error and records the exception.</summary>
    public static void End(Activity? activity, string outcome, Exception? error)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag(BatonDiagnostics.OutcomeTag, outcome);
        if (error is not null && outcome is not ("cancelled" or "interrupted"))
        {
            activity.SetStatus(ActivityStatusCode.Error, error.Message);
            activity.AddException(error);
        }

        activity.Dispose();
    }
}
