using Baton.Execution;
using Baton.Runs;
using Baton.Storage;
using Baton.Workflows;
using Microsoft.Extensions.Hosting;

namespace Baton.Scheduling;

/// <summary>
/// Fires due schedules. Every node may run it: the store records each (schedule, fire time) once, so a
/// fire time starts at most one run whatever the number of nodes.
/// </summary>
internal sealed class Scheduler(IScheduleStore store, WorkflowRegistry registry, EngineServices engine, WorkSignal signal) : BackgroundService
{
    /// <summary>A fire time later than this counts as missed and follows the schedule's misfire rule.</summary>
    public static readonly TimeSpan MisfireThreshold = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!engine.Options.RunScheduler)
        {
            return;
        }

        using var timer = new PeriodicTimer(engine.Options.SchedulerInterval, engine.Time);
        try
        {
            do
            {
                await TickAsync(stoppingToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Fires every schedule that is due now; returns the number of runs started.</summary>
    internal async Task<int> TickAsync(CancellationToken cancellationToken)
    {
        var started = 0;
        var now = engine.Time.GetUtcNow();
        IReadOnlyList<ScheduleRecord> due;
        try
        {
            due = await store.GetDueSchedulesAsync(new DueSchedulesRequest(now, 100), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Log.SchedulerError(engine.Logger, "*", ex.Message);
            return 0;
        }

        foreach (var schedule in due)
        {
            try
            {
                started += await FireAsync(schedule, now, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                Log.SchedulerError(engine.Logger, schedule.Name, ex.Message);
            }
        }

        if (started > 0)
        {
            signal.Notify();
        }

        return started;
    }

    private async Task<int> FireAsync(ScheduleRecord schedule, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (registry.Find(schedule.Workflow) is not { } workflow
            || !CronSchedule.TryParse(schedule.Cron, schedule.TimeZone, out var cron, out _)
            || schedule.NextFireAt is not { } fireTime)
        {
            return 0;
        }

        var missed = now - fireTime > MisfireThreshold;
        var request = new FireScheduleRequest
        {
            ScheduleName = schedule.Name,
            FireTime = fireTime,
            ExpectedNextFireAt = fireTime,
            NewNextFireAt = cron!.Next(missed ? now : fireTime),
            Now = now,
        };
        if (missed && schedule.Misfire == MisfirePolicy.Skip)
        {
            Log.ScheduleSkipped(engine.Logger, schedule.Name, fireTime);
            await store.FireScheduleAsync(request, cancellationToken).ConfigureAwait(false);
            return 0;
        }

        if (missed)
        {
            // RunOnce: one run stands for every missed fire; it carries the latest of them.
            fireTime = cron.Between(fireTime, now).LastOrDefault(fireTime);
            request = request with { FireTime = fireTime };
        }

        var input = schedule.Input is null ? (System.Text.Json.JsonElement?)null : System.Text.Json.JsonDocument.Parse(schedule.Input).RootElement;
        if (!workflow.TryReadInput(input, engine.InputJson, out var typedInput, out var inputJson, out _))
        {
            return 0;
        }

        var run = BatonClient.NewRunRequest(workflow, typedInput, inputJson, now, null) with
        {
            ScheduleName = schedule.Name,
            ScheduledFireTime = fireTime,
        };
        var result = await store.FireScheduleAsync(request with { Run = run }, cancellationToken).ConfigureAwait(false);
        if (result is { Fired: true, Run.Outcome: CreateRunOutcome.Created })
        {
            engine.Metrics.RunsStarted.Add(1, new KeyValuePair<string, object?>("workflow", workflow.Name));
            Log.ScheduleFired(engine.Logger, schedule.Name, fireTime, result.Run.Run.Id);
            return 1;
        }

        return 0;
    }
}
