using System.Text.RegularExpressions;
using Baton.Runs;
using Baton.Storage;
using Baton.Workers;
using Baton.Workflows;

namespace Baton.Scheduling;

internal sealed partial class Schedules(IScheduleStore store, WorkflowRegistry registry, WorkflowJson json, TimeProvider time) : ISchedules
{
    public async Task<PutScheduleResult> PutAsync(ScheduleDefinition definition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (!NamePattern().IsMatch(definition.Name ?? ""))
        {
            throw new ScheduleValidationException("schedule name must be 1-100 characters of letters, digits, '.', '_' or '-', other than '.' and '..' (a URL reads those as path steps)");
        }

        if (registry.Find(definition.Workflow ?? "") is not { } workflow)
        {
            throw new ScheduleValidationException($"no workflow named '{definition.Workflow}' is registered");
        }

        if (!Enum.IsDefined(definition.Misfire))
        {
            throw new ScheduleValidationException($"misfire {(int)definition.Misfire} is not a misfire policy ({string.Join(", ", Enum.GetNames<MisfirePolicy>())})");
        }

        if (!CronSchedule.TryParse(definition.Cron, definition.TimeZone, out var cron, out var cronError))
        {
            throw new ScheduleValidationException(cronError!);
        }

        if (!workflow.TryReadInput(definition.Input, json.Input, out var input, out var inputError))
        {
            throw new ScheduleValidationException(inputError.Message);
        }

        var now = time.GetUtcNow();
        var stored = await store.UpsertScheduleAsync(
            new UpsertScheduleRequest
            {
                Name = definition.Name!,
                Workflow = workflow.Name,
                Cron = cron!.Expression,
                TimeZone = cron.TimeZone.Id,
                Input = input.Json,
                Enabled = definition.Enabled,
                Misfire = definition.Misfire,
                NextFireAt = definition.Enabled ? cron.Next(now) : null,
                Now = now,
            },
            cancellationToken).ConfigureAwait(false);
        return new PutScheduleResult(ScheduleInfo.From(stored.Schedule), stored.Created);
    }

    public async Task<ScheduleInfo?> GetAsync(string name, CancellationToken cancellationToken = default) =>
        await store.GetScheduleAsync(name, cancellationToken).ConfigureAwait(false) is { } record ? ScheduleInfo.From(record) : null;

    public async Task<IReadOnlyList<ScheduleInfo>> ListAsync(CancellationToken cancellationToken = default) =>
        (await store.ListSchedulesAsync(cancellationToken).ConfigureAwait(false)).Select(ScheduleInfo.From).ToList();

    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default) =>
        store.DeleteScheduleAsync(name, cancellationToken);

    public async Task<ScheduleInfo?> SetEnabledAsync(string name, bool enabled, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!NamePattern().IsMatch(name))
        {
            return null;
        }

        // Written only while the schedule is as read; one replaced in between is read again and toggled as it is now.
        for (var attempt = 1; ; attempt++)
        {
            if (await store.GetScheduleAsync(name, cancellationToken).ConfigureAwait(false) is not { } schedule)
            {
                return null;
            }

            if (registry.Find(schedule.Workflow) is null)
            {
                throw new ScheduleValidationException($"no workflow named '{schedule.Workflow}' is registered");
            }

            var now = time.GetUtcNow();
            DateTimeOffset? next = null;
            if (enabled)
            {
                if (!CronSchedule.TryParse(schedule.Cron, schedule.TimeZone, out var cron, out var cronError))
                {
                    throw new ScheduleValidationException(cronError!);
                }

                next = cron!.Next(now);
            }

            var request = new SetScheduleEnabledRequest
            {
                Name = name, Enabled = enabled, NextFireAt = next, Workflow = schedule.Workflow, Cron = schedule.Cron, TimeZone = schedule.TimeZone, Now = now,
            };
            if (await store.SetScheduleEnabledAsync(request, cancellationToken).ConfigureAwait(false) is { } written)
            {
                return ScheduleInfo.From(written);
            }

            if (attempt == MaxToggleAttempts)
            {
                throw new ScheduleValidationException($"schedule '{name}' was replaced {MaxToggleAttempts} times while being {(enabled ? "enabled" : "disabled")}; try again");
            }
        }
    }

    private const int MaxToggleAttempts = 3;

    // "." and ".." would be valid by the character set alone, but no URL can name them: /api/schedules/.. is /api/.
    [GeneratedRegex(@"^(?!\.\.?\z)[A-Za-z0-9._-]{1,100}\z")]
    private static partial Regex NamePattern();
}
