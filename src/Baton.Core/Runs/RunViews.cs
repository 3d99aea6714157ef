using Baton.Events;
using Baton.Storage;

namespace Baton.Runs;

/// <summary>The one place where store records become the views users see.</summary>
internal static class RunViews
{
    public static RunInfo ToInfo(this RunRecord run) => new()
    {
        Id = run.Id,
        Workflow = run.Workflow,
        Status = run.Status,
        Input = run.Input,
        Output = run.Output,
        Phase = run.Phase,
        Progress = run.Progress,
        Errors = run.Errors,
        Failure = run.Failure,
        IdempotencyKey = run.IdempotencyKey,
        ConcurrencyKey = run.ConcurrencyKey,
        ConcurrencyLimit = run.ConcurrencyLimit,
        ScheduleName = run.ScheduleName,
        ScheduledFireTime = run.ScheduledFireTime,
        CorrelationId = run.CorrelationId,
        CreatedAt = run.CreatedAt,
        StartedAt = run.StartedAt,
        CompletedAt = run.CompletedAt,
        UpdatedAt = run.UpdatedAt,
        RunAfter = run.RunAfter,
        DeadlineAt = run.DeadlineAt,
        CancelRequested = run.CancelRequested,
        Executions = run.Executions,
        ParentRunId = run.ParentRunId,
        WorkflowVersion = run.WorkflowVersion,
        TraceParent = run.TraceParent,
        TraceState = run.TraceState,
    };

    public static StepInfo ToInfo(this StepRecord step) => new()
    {
        Key = step.Key,
        Kind = step.Kind,
        Status = step.Status,
        Result = step.Result,
        Error = step.Error,
        ErrorType = step.ErrorType,
        Attempts = step.Attempts,
        StartedAt = step.StartedAt,
        CompletedAt = step.CompletedAt,
    };

    public static StepAttemptInfo ToInfo(this StepAttemptRecord attempt) => new()
    {
        StepKey = attempt.StepKey,
        Attempt = attempt.Attempt,
        StartedAt = attempt.StartedAt,
        EndedAt = attempt.EndedAt,
        Outcome = attempt.Outcome,
        ErrorType = attempt.ErrorType,
        ErrorMessage = attempt.ErrorMessage,
        RetryAt = attempt.RetryAt,
    };

    public static RunDetails ToDetails(RunRecord run, IReadOnlyList<StepRecord> steps, IReadOnlyList<StepAttemptRecord> attempts) =>
        new(run.ToInfo(), steps.Select(ToInfo).ToList(), attempts.Select(ToInfo).ToList());

    public static EventInfo ToInfo(this EventRecord e) => new()
    {
        Name = e.Name, Sequence = e.Sequence, StoredAt = e.StoredAt, ConsumedAt = e.ConsumedAt,
    };

    public static RunPage ToPage(this RunRecordPage page) => new(page.Runs.Select(ToInfo).ToList(), page.NextCursor);

    public static CancelRunResult ToResult(this CancelRunRecordResult result) => new(result.Outcome, result.Run?.ToInfo());

    public static RetryRunResult ToResult(this RetryRunRecordResult result) => new(result.Outcome, result.Run?.ToInfo());
}
