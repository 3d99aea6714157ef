using Baton.Storage;

namespace Baton.Scheduling;

/// <summary>Creates, reads and deletes cron schedules.</summary>
public interface ISchedules
{
    /// <summary>
    /// Creates or replaces a schedule, and says which (<see cref="PutScheduleResult.Created"/>: of concurrent puts of a
    /// new name, exactly one). Throws <see cref="ScheduleValidationException"/> for an unknown workflow, a bad cron
    /// expression, an unknown time zone or input the workflow cannot read.
    /// </summary>
    Task<PutScheduleResult> PutAsync(ScheduleDefinition definition, CancellationToken cancellationToken = default);

    Task<ScheduleInfo?> GetAsync(string name, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<ScheduleInfo>> ListAsync(CancellationToken cancellationToken = default);

    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Enables or disables a schedule, leaving the rest of it as stored: an edit stored meanwhile is kept, and a schedule
    /// deleted meanwhile is not brought back. Null when there is no schedule of that name. Enabling gives a disabled schedule
    /// its next fire time from now; an enabled one keeps its own. Throws <see cref="ScheduleValidationException"/> when its
    /// workflow is not registered here, or when enabling and its cron or time zone cannot be read here.
    /// </summary>
    Task<ScheduleInfo?> SetEnabledAsync(string name, bool enabled, CancellationToken cancellationToken = default);
}

/// <summary>A schedule as a user writes it.</summary>
public sealed record ScheduleDefinition
{
    public required string Name { get; init; }
    public required string Workflow { get; init; }
    /// <summary>Cron with 5 fields (minute precision), 6 (leading seconds field) or a macro such as <c>@daily</c>; <c>L</c>, <c>W</c>, <c>#</c> accepted (see <see cref="CronSchedule"/>).</summary>
    public required string Cron { get; init; }
    /// <summary>IANA or Windows time zone id. The default is UTC.</summary>
    public string TimeZone { get; init; } = "UTC";
    public System.Text.Json.JsonElement? Input { get; init; }
    public bool Enabled { get; init; } = true;
    public MisfirePolicy Misfire { get; init; } = MisfirePolicy.Skip;
}

/// <summary>A stored schedule with its next fire time: what users see of a schedule (the store's record is for store authors).</summary>
public sealed record ScheduleInfo
{
    public required string Name { get; init; }
    public required string Workflow { get; init; }
    public required string Cron { get; init; }
    /// <summary>An IANA or Windows time zone id; fire times are computed in it.</summary>
    public required string TimeZone { get; init; }
    /// <summary>The input JSON text each fire starts a run with, or null.</summary>
    public string? Input { get; init; }
    public required bool Enabled { get; init; }
    public required MisfirePolicy Misfire { get; init; }
    /// <summary>The next fire time; null while the schedule is disabled.</summary>
    public DateTimeOffset? NextFireAt { get; init; }
    public DateTimeOffset? LastFireAt { get; init; }
    public string? LastRunId { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }

    internal static ScheduleInfo From(ScheduleRecord record) => new()
    {
        Name = record.Name, Workflow = record.Workflow, Cron = record.Cron, TimeZone = record.TimeZone, Input = record.Input,
        Enabled = record.Enabled, Misfire = record.Misfire, NextFireAt = record.NextFireAt, LastFireAt = record.LastFireAt,
        LastRunId = record.LastRunId, CreatedAt = record.CreatedAt, UpdatedAt = record.UpdatedAt,
    };
}

/// <summary>The schedule as <see cref="ISchedules.PutAsync"/> stored it; <see cref="Created"/> false when it replaced one of that name.</summary>
public sealed record PutScheduleResult(ScheduleInfo Schedule, bool Created);

public sealed class ScheduleValidationException(string message) : Exception(message);
