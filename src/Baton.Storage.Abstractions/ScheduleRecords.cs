using Baton.Scheduling;

namespace Baton.Storage;

public sealed record ScheduleRecord
{
    public required string Name { get; init; }
    public required string Workflow { get; init; }
    public required string Cron { get; init; }
    /// <summary>An IANA or Windows time zone id; fire times are computed in it.</summary>
    public required string TimeZone { get; init; }
    public string? Input { get; init; }
    public required bool Enabled { get; init; }
    public required MisfirePolicy Misfire { get; init; }
    public DateTimeOffset? NextFireAt { get; init; }
    public DateTimeOffset? LastFireAt { get; init; }
    public string? LastRunId { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
}

public sealed record UpsertScheduleRequest
{
    public required string Name { get; init; }
    public required string Workflow { get; init; }
    public required string Cron { get; init; }
    public required string TimeZone { get; init; }
    public string? Input { get; init; }
    public required bool Enabled { get; init; }
    public required MisfirePolicy Misfire { get; init; }
    public DateTimeOffset? NextFireAt { get; init; }
    public required DateTimeOffset Now { get; init; }
}

/// <summary>
/// The schedule as stored by <see cref="IScheduleStore.UpsertScheduleAsync"/>, and whether that upsert created it (false:
/// it replaced one). Decided by the write itself, not by a read before it, which a concurrent create could pass.
/// </summary>
public sealed record UpsertScheduleResult(ScheduleRecord Schedule, bool Created);

/// <summary>What <see cref="IScheduleStore.SetScheduleEnabledAsync"/> writes, and the schedule as it was read.</summary>
public sealed record SetScheduleEnabledRequest
{
    public required string Name { get; init; }
    public required bool Enabled { get; init; }

    /// <summary>
    /// The next fire time of a disabled schedule being enabled (computed from <see cref="Cron"/>). One already enabled keeps
    /// its own, due or not; a disabled one has none.
    /// </summary>
    public DateTimeOffset? NextFireAt { get; init; }

    /// <summary>The schedule's workflow as read: written only while the stored schedule still has it, <see cref="Cron"/> and <see cref="TimeZone"/>.</summary>
    public required string Workflow { get; init; }
    public required string Cron { get; init; }
    public required string TimeZone { get; init; }
    public required DateTimeOffset Now { get; init; }
}

public sealed record DueSchedulesRequest(DateTimeOffset Now, int Max)
{
    /// <summary>
    /// Only schedules of these workflows (the ones the asking node has registered); null for every schedule. A
    /// schedule no node here can fire then never holds a place among the <c>Max</c> due ones.
    /// </summary>
    public IReadOnlyList<string>? Workflows { get; init; }
}

/// <summary>
/// Records one fire of a schedule and starts its run, atomically. A second request for the same
/// schedule and fire time (from any node) creates nothing.
/// </summary>
/// <summary>Which fire records to delete (see <see cref="IScheduleStore.PruneFiresAsync"/>).</summary>
public sealed record PruneFiresRequest
{
    public required DateTimeOffset FiredBefore { get; init; }

    public int MaxFires { get; init; } = 1000;
}

public sealed record FireScheduleRequest
{
    public required string ScheduleName { get; init; }
    public required DateTimeOffset FireTime { get; init; }
    /// <summary>The schedule's next fire time after this one; written only if it still equals <see cref="ExpectedNextFireAt"/>.</summary>
    public required DateTimeOffset? NewNextFireAt { get; init; }
    public required DateTimeOffset? ExpectedNextFireAt { get; init; }
    /// <summary>The run to create, or null when the fire is skipped (misfire rule).</summary>
    public CreateRunRequest? Run { get; init; }

    /// <summary>
    /// The workflow and input the run was made from, as the schedule was read: set, the fire is recorded only if the stored
    /// schedule still has them (an edit of the input alone keeps the next fire time). Null checks neither.
    /// </summary>
    public ScheduleContent? ReadAs { get; init; }
    public required DateTimeOffset Now { get; init; }
}

/// <param name="Fired">True when this request recorded the fire; false when another one already had.</param>
/// <param name="Run">The run created for this fire, if any.</param>
public sealed record FireScheduleResult(bool Fired, CreateRunResult? Run);

/// <summary>What a schedule's run is made from: its workflow and its input as stored (JSON text, or null).</summary>
public sealed record ScheduleContent(string Workflow, string? Input);
