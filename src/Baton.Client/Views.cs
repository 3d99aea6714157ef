using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Baton.Client;

/// <summary>Links a client follows from a run.</summary>
public sealed record RunLinks(string Self, string Cancel, string Retry);

/// <summary>A run as lists and start responses show it (<c>GET /api/runs</c>).</summary>
/// <param name="Status">The wire name: pending, running, suspended, compensating, succeeded, failed, cancelled, compensated, compensation_failed.</param>
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
    RunLinks? Links)
{
    /// <summary>The version of the workflow's code that started the run.</summary>
    public int WorkflowVersion { get; init; } = 1;

    /// <summary>When the run was last written: its status, phase or progress.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>True once the run has reached a final state. Not part of the API's JSON, so not written to it either.</summary>
    [JsonIgnore]
    public bool IsFinished => RunStatuses.IsFinished(Status);
}

/// <summary>Why a run ended badly: the root cause, with the saga state in <see cref="Details"/>.</summary>
public sealed record FailureView(string Message, string? ErrorType, FailureDetails? Details);

public sealed record FailureDetails(SagaView? Saga);

/// <param name="State">null, <c>compensating</c>, <c>compensated</c> or <c>compensation_failed</c>.</param>
public sealed record SagaView(string? Step, string? State, string? CompensationStep, string? CompensationError);

/// <summary>One attempt of a step.</summary>
public sealed record AttemptView(int Attempt, string Outcome, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, double? DurationMs, string? ErrorType, string? Error);

/// <summary>A step of a run with its attempts.</summary>
/// <param name="Kind">step, timer, compensation, event, child or patch.</param>
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

/// <summary>An error a run recorded and went on after.</summary>
public sealed record RunErrorView(DateTimeOffset At, string Message, string? Step);

/// <summary>An event sent to a run.</summary>
public sealed record EventView(string Name, long Sequence, DateTimeOffset StoredAt, bool Consumed, DateTimeOffset? ConsumedAt);

/// <summary>A child run as its parent shows it.</summary>
public sealed record ChildRunView(string Id, string Workflow, string Status, RunLinks? Links);

/// <summary>Everything about one run (<c>GET /api/runs/{id}</c>).</summary>
public sealed record RunView(
    string Id,
    string Workflow,
    string Status,
    string? Phase,
    IReadOnlyDictionary<string, long> Progress,
    IReadOnlyList<RunErrorView> Errors,
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
    RunLinks? Links)
{
    /// <summary>The events sent to the run, in the order they were stored.</summary>
    public IReadOnlyList<EventView> Events { get; init; } = [];

    /// <summary>The run that started this one as an awaited child, or null.</summary>
    public string? ParentRunId { get; init; }

    /// <summary>The version of the workflow's code that started the run.</summary>
    public int WorkflowVersion { get; init; } = 1;

    /// <summary>The runs this run started as awaited children, newest first (the newest 500).</summary>
    public IReadOnlyList<ChildRunView> Children { get; init; } = [];

    /// <summary>
    /// With more children than <see cref="Children"/> lists, the API path that pages through all of them
    /// (<c>/api/runs?parentRunId=...&amp;cursor=...</c>; <see cref="RunQuery.ParentRunId"/> lists them through the client); else null.
    /// </summary>
    public string? MoreChildren { get; init; }

    /// <summary>True once the run has reached a final state. Not part of the API's JSON, so not written to it either.</summary>
    [JsonIgnore]
    public bool IsFinished => RunStatuses.IsFinished(Status);
}

/// <summary>One page of runs, newest first; <see cref="NextCursor"/> is null on the last page.</summary>
public sealed record RunListView(IReadOnlyList<RunSummary> Runs, string? NextCursor, string? Next);

/// <summary>The outcome of a cancel or retry.</summary>
/// <param name="Outcome"><c>cancelled</c>, <c>cancel_requested</c> or <c>retried</c>.</param>
public sealed record RunActionView(string Outcome, RunSummary Run);

/// <summary>What a start returned: the run, and whether this request created it (false: an idempotency key named an existing run).</summary>
public sealed record StartedRun(RunSummary Run, bool Created);

/// <summary>The answer to an event sent to a run.</summary>
/// <param name="Duplicate">True when the idempotency key had already stored this event.</param>
public sealed record EventAcceptedView(string RunId, string Name, long Sequence, DateTimeOffset StoredAt, bool Duplicate);

/// <summary>A registered workflow (<c>GET /api/workflows</c>).</summary>
public sealed record WorkflowView(string Name, string? Description, string InputType, string OutputType, int? ConcurrencyLimit, string StartRuns);

/// <summary>A cron schedule.</summary>
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

/// <summary>The body of <c>PUT /api/schedules/{name}</c>.</summary>
public sealed record ScheduleDefinition
{
    public required string Workflow { get; init; }

    /// <summary>5 fields (minute hour day month weekday) or 6 with leading seconds.</summary>
    public required string Cron { get; init; }

    /// <summary>An IANA or Windows time zone id. The default is UTC.</summary>
    public string? TimeZone { get; init; }

    /// <summary>The input each fired run gets. The default is none.</summary>
    public JsonElement? Input { get; init; }

    /// <summary>The default is true.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary><c>skip</c> or <c>run_once</c>. The default is skip.</summary>
    public string? Misfire { get; init; }
}

/// <summary>A live node (heartbeat within three heartbeat intervals), as <c>GET /health</c> lists it.</summary>
public sealed record NodeView(
    string NodeId, string Host, int ProcessId, string Version, IReadOnlyList<string> Workflows, DateTimeOffset StartedAt, DateTimeOffset HeartbeatAt)
{
    /// <summary>
    /// The version of each of <see cref="Workflows"/> the node starts runs at and the older versions whose runs it resumes,
    /// sorted by name; null from a server or node that does not record them.
    /// </summary>
    public IReadOnlyList<NodeWorkflowView>? WorkflowVersions { get; init; }

}

/// <summary>A workflow as a node executes it: <see cref="Version"/> for new runs, and the runs of <see cref="ResumesVersions"/>.</summary>
public sealed record NodeWorkflowView(string Name, int Version, IReadOnlyList<int> ResumesVersions)
{
    /// <summary>As the CLI shows it: <c>order v2</c>, <c>order v2 (resumes v1)</c>.</summary>
    public string Describe() => ResumesVersions.Count == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{Name} v{Version}")
        : string.Create(CultureInfo.InvariantCulture, $"{Name} v{Version} (resumes {string.Join(", ", ResumesVersions.Select(v => "v" + v.ToString(CultureInfo.InvariantCulture)))})");
}

/// <summary>Filters and paging of <c>GET /api/runs</c>; every field is optional.</summary>
public sealed record RunQuery
{
    public string? Workflow { get; init; }

    /// <summary>A status wire name (see <see cref="RunStatuses"/>).</summary>
    public string? Status { get; init; }

    public DateTimeOffset? CreatedAfter { get; init; }
    public DateTimeOffset? CreatedBefore { get; init; }

    /// <summary>Only the awaited children of this run (all of them, where <see cref="RunView.Children"/> lists the newest 500).</summary>
    public string? ParentRunId { get; init; }

    /// <summary>The <see cref="RunListView.NextCursor"/> of the previous page.</summary>
    public string? Cursor { get; init; }

    /// <summary>1 to the server's maximum page size. The default is the server's default.</summary>
    public int? Limit { get; init; }
}

/// <summary>The run status wire names.</summary>
public static class RunStatuses
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Suspended = "suspended";
    public const string Compensating = "compensating";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public const string Compensated = "compensated";
    public const string CompensationFailed = "compensation_failed";

    /// <summary>Every status, active ones first.</summary>
    public static IReadOnlyList<string> All { get; } =
        [Pending, Running, Suspended, Compensating, Succeeded, Failed, Cancelled, Compensated, CompensationFailed];

    /// <summary>True for the final states (succeeded, failed, cancelled, compensated, compensation_failed).</summary>
    public static bool IsFinished(string? status) => status is Succeeded or Failed or Cancelled or Compensated or CompensationFailed;
}
