using System.Text.Json;
using System.Text.Json.Serialization;
using Baton.Runs;
using Baton.Scheduling;
using Baton.Server.Configuration;
using Baton.Storage;
using Baton.Workflows;

namespace Baton.Server.Api;

/// <summary>Links a client follows from a run.</summary>
public sealed record RunLinks(string Self, string Cancel, string Retry);

/// <summary>A run as lists and start responses show it.</summary>
public sealed record RunSummary(
    string Id,
    string Workflow,
    string Status,
    string? Phase,
    IReadOnlyDictionary<string, long> Progress,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    string? ScheduleName,
    RunLinks Links)
{
    /// <summary>The version of the workflow's code that started the run.</summary>
    public int WorkflowVersion { get; init; } = 1;

    /// <summary>When the run was last written: its status, phase or progress.</summary>
    public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>Seed 004's saga error shape: the root cause at the top, saga state in <c>details</c>.</summary>
public sealed record FailureView(string Message, string? ErrorType, FailureDetails Details);

public sealed record FailureDetails(SagaView Saga);

/// <param name="Step">The step that failed (null when the run failed outside a step: timeout, cancellation).</param>
/// <param name="State">null, <c>compensating</c>, <c>compensated</c> or <c>compensation_failed</c>.</param>
public sealed record SagaView(
    string? Step,
    string? State,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? CompensationStep,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? CompensationError);

public sealed record AttemptView(int Attempt, string Outcome, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, double? DurationMs, string? ErrorType, string? Error);

public sealed record StepView(
    string Key,
    string Kind,
    string Status,
    JsonElement? Result,
    string? Error,
    string? ErrorType,
    int AttemptCount,
    DateTimeOffset StartedAt,
    DateTimeOffset? CompletedAt,
    double? DurationMs,
    IReadOnlyList<AttemptView> Attempts);

/// <summary>Everything about one run.</summary>
public sealed record RunView(
    string Id,
    string Workflow,
    string Status,
    string? Phase,
    IReadOnlyDictionary<string, long> Progress,
    IReadOnlyList<RunError> Errors,
    JsonElement? Input,
    JsonElement? Output,
    FailureView? Failure,
    string? IdempotencyKey,
    string? ConcurrencyKey,
    string? ScheduleName,
    DateTimeOffset? ScheduledFireTime,
    string? CorrelationId,
    bool CancelRequested,
    int Executions,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset RunAfter,
    DateTimeOffset? DeadlineAt,
    IReadOnlyList<StepView> Steps,
    RunLinks Links)
{
    /// <summary>The events sent to the run, in the order they were stored.</summary>
    public IReadOnlyList<EventView> Events { get; init; } = [];

    /// <summary>The run that started this one as an awaited child, or null.</summary>
    public string? ParentRunId { get; init; }

    /// <summary>The version of the workflow's code that started the run.</summary>
    public int WorkflowVersion { get; init; } = 1;

    /// <summary>The runs this run started as awaited children, newest first (at most 500).</summary>
    public IReadOnlyList<ChildRunView> Children { get; init; } = [];

    /// <summary>When the run has more children than <see cref="Children"/> lists: the run list's next page of them; else null.</summary>
    public string? MoreChildren { get; init; }
}

/// <summary>A child run as its parent shows it.</summary>
public sealed record ChildRunView(string Id, string Workflow, string Status, RunLinks Links);

/// <summary>An event sent to a run; <c>consumed</c> once a wait of the run took it.</summary>
public sealed record EventView(string Name, long Sequence, DateTimeOffset StoredAt, bool Consumed, DateTimeOffset? ConsumedAt);

public sealed record RunListView(IReadOnlyList<RunSummary> Runs, string? NextCursor, string? Next);

public sealed record WorkflowView(string Name, string? Description, string InputType, string OutputType, int? ConcurrencyLimit, string StartRuns);

public sealed record ScheduleView(
    string Name,
    string Workflow,
    string Cron,
    string TimeZone,
    JsonElement? Input,
    bool Enabled,
    string Misfire,
    DateTimeOffset? NextFireAt,
    DateTimeOffset? LastFireAt,
    string? LastRunId,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

internal static class ApiMapping
{
    /// <summary>
    /// The links of run <paramref name="id"/> under <paramref name="pathBase"/>, the request's <c>PathBase</c> (every link
    /// the API hands out starts with it): a host that mounts the API with <c>UsePathBase("/baton")</c> answers
    /// <c>/baton/api/runs/...</c>, which its clients can follow; <c>/api/runs/...</c> was outside its prefix.
    /// </summary>
    public static RunLinks LinksFor(PathString pathBase, string id)
    {
        var self = $"{pathBase}/api/runs/{id}";
        return new(self, self + "/cancel", self + "/retry");
    }

    public static RunSummary ToSummary(this RunInfo run, PathString pathBase) => new(
        run.Id, run.Workflow, run.Status.ToWireName(), run.Phase, run.Progress, run.CreatedAt, run.StartedAt, run.CompletedAt, run.ScheduleName, LinksFor(pathBase, run.Id))
    {
        WorkflowVersion = run.WorkflowVersion,
        UpdatedAt = run.UpdatedAt,
    };

    public static RunView ToView(this RunDetails details, PathString pathBase)
    {
        var run = details.Run;
        var attemptsByStep = details.Attempts.GroupBy(a => a.StepKey, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(a => a.Attempt).Select(ToView).ToList(), StringComparer.Ordinal);
        var steps = details.Steps
            .OrderBy(s => s.StartedAt)
            .Select(s => new StepView(
                s.Key,
                KindName(s.Kind),
                StepStatusName(s.Status),
                ParseJson(s.Result),
                s.Error,
                s.ErrorType,
                s.Attempts,
                s.StartedAt,
                s.CompletedAt,
                s.CompletedAt is { } end ? (end - s.StartedAt).TotalMilliseconds : null,
                attemptsByStep.GetValueOrDefault(s.Key) ?? []))
            .ToList();
        return new RunView(
            run.Id, run.Workflow, run.Status.ToWireName(), run.Phase, run.Progress, run.Errors,
            ParseJson(run.Input), ParseJson(run.Output), ToView(run.Failure),
            run.IdempotencyKey, run.ConcurrencyKey, run.ScheduleName, run.ScheduledFireTime, run.CorrelationId,
            run.CancelRequested, run.Executions, run.CreatedAt, run.StartedAt, run.CompletedAt, run.UpdatedAt, run.RunAfter, run.DeadlineAt,
            steps, LinksFor(pathBase, run.Id))
        {
            Events = details.Events.Select(e => new EventView(e.Name, e.Sequence, e.StoredAt, e.Consumed, e.ConsumedAt)).ToList(),
            ParentRunId = run.ParentRunId,
            WorkflowVersion = run.WorkflowVersion,
            Children = details.Children.Select(c => new ChildRunView(c.Id, c.Workflow, c.Status.ToWireName(), LinksFor(pathBase, c.Id))).ToList(),
            MoreChildren = details.ChildrenNextCursor is { } next ? $"{pathBase}/api/runs?parentRunId={run.Id}&cursor={next}" : null,
        };
    }

    public static FailureView? ToView(RunFailure? failure) => failure is null
        ? null
        : new FailureView(failure.Message, failure.ErrorType, new FailureDetails(new SagaView(failure.Step, failure.SagaState, failure.CompensationStep, failure.CompensationError)));

    public static WorkflowView ToView(this WorkflowDescriptor workflow, PathString pathBase) => new(
        workflow.Name, workflow.Description, workflow.InputType.Name, workflow.OutputType.Name, workflow.ConcurrencyLimit, $"{pathBase}/api/workflows/{workflow.Name}/runs");

    public static ScheduleView ToView(this ScheduleInfo s) =>
        new(s.Name, s.Workflow, s.Cron, s.TimeZone, ParseJson(s.Input), s.Enabled, s.Misfire.ToWireName(), s.NextFireAt, s.LastFireAt, s.LastRunId, s.CreatedAt, s.UpdatedAt);

    private static AttemptView ToView(StepAttemptInfo a) => new(
        a.Attempt, AttemptOutcomeName(a.Outcome), a.StartedAt, a.EndedAt, a.EndedAt is { } end ? (end - a.StartedAt).TotalMilliseconds : null, a.ErrorType, a.ErrorMessage);

    /// <summary>Stored JSON text as a JSON value in the response (not a string holding JSON).</summary>
    internal static JsonElement? ParseJson(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(json);
        }
    }

    private static string KindName(StepKind kind) => kind switch
    {
        StepKind.Timer => "timer",
        StepKind.Compensation => "compensation",
        StepKind.Event => "event",
        StepKind.Child => "child",
        StepKind.Patch => "patch",
        _ => "step",
    };

    private static string StepStatusName(StepStatus status) => status switch
    {
        StepStatus.Running => "running",
        StepStatus.Succeeded => "succeeded",
        StepStatus.Failed => "failed",
        StepStatus.DeadLettered => "dead_lettered",
        _ => status.ToString().ToLowerInvariant(),
    };

    private static string AttemptOutcomeName(AttemptOutcome outcome) => outcome switch
    {
        AttemptOutcome.Running => "running",
        AttemptOutcome.Succeeded => "succeeded",
        AttemptOutcome.Failed => "failed",
        AttemptOutcome.TimedOut => "timed_out",
        AttemptOutcome.Cancelled => "cancelled",
        AttemptOutcome.Interrupted => "interrupted",
        _ => outcome.ToString().ToLowerInvariant(),
    };
}
