using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Baton.Storage;
using Baton.Workers;
using Baton.Workflows;
using Microsoft.Extensions.Hosting;

namespace Baton.Scheduling;

/// <summary>
/// Fires due schedules. Every node may run it: the store records each (schedule, fire time) once, so a
/// fire time starts at most one run whatever the number of nodes.
/// </summary>
internal sealed class Scheduler(IScheduleStore store, WorkflowRegistry registry, EngineServices engine, Worker worker) : BackgroundService
{
    /// <summary>A fire time later than this counts as missed and follows the schedule's misfire rule.</summary>
    public static readonly TimeSpan MisfireThreshold = TimeSpan.FromMinutes(1);

    /// <summary>
    /// <see cref="MisfireThreshold"/>, or two scheduler intervals when that is longer: a tick every 90 s must not find
    /// every fire more than a minute late and skip them all while the node runs.
    /// </summary>
    private TimeSpan MissedAfter => engine.Options.SchedulerInterval * 2 is var twoTicks && twoTicks > MisfireThreshold ? twoTicks : MisfireThreshold;

    // The stored row (next fire time, last write) of each schedule that could not fire, as it was when last reported: a
    // schedule that cannot fire stays due and is looked at every tick, and one line says why until the schedule moves on
    // or is written again. Not the fire time tried: a run_once schedule more than a minute late tries the latest missed
    // one, a new one every second for an every-second cron, and would log every tick. Only schedules still due: each tick
    // drops those its reads show are not (deleted, disabled, fired by another node), so the record holds no more than the
    // schedules due now that cannot fire here.
    private const int BatchSize = 100;
    private readonly ConcurrentDictionary<string, Reported> _reported = new(StringComparer.Ordinal);
    private string[]? _workflows;

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
            // Only this node's workflows: schedules of workflows it lacks are left to the nodes that have them, and
            // cannot fill the batch so that nothing else here fires. With room to spare, the others due are read too,
            // only to say once why this node does not fire one that no node fired in time (a schedule whose workflow no
            // node has never runs).
            // Read past the schedules of this node's workflows already found unable to fire (input that no longer fits after a
            // deploy): they stay due, the earliest of all, and would otherwise fill the batch so that nothing else fires.
            // Only those of this node's workflows count: schedules of workflows it lacks are not in that read.
            var stuckHere = _reported.Values.Count(r => r.WorkflowHere);
            var request = new DueSchedulesRequest(now, BatchSize + stuckHere) { Workflows = _workflows ??= [.. registry.Workflows.Select(w => w.Name)] };
            due = await store.GetDueSchedulesAsync(request, cancellationToken).ConfigureAwait(false);
            if (due.Count < request.Max)
            {
                var all = await store.GetDueSchedulesAsync(request with { Workflows = null }, cancellationToken).ConfigureAwait(false);
                due = [.. due, .. all.Where(s => registry.Find(s.Workflow) is null)];
                ForgetNotDue(due, readAllElsewhere: all.Count < request.Max);
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Log.SchedulerError(engine.Logger, ex, "*");
            return 0;
        }

        foreach (var schedule in due)
        {
            try
            {
                // Every fire time due now, not one per tick: a schedule more frequent than the tick (a seconds cron) that was
                // late by less than the misfire threshold would otherwise stay that late for ever, one fire per tick while
                // one more falls due per tick. Bounded: a longer backlog is a misfire, handled in one step.
                var current = schedule;
                for (var fires = 0; fires < MaxFiresPerTick; fires++)
                {
                    var (runs, next) = await FireAsync(current, now, cancellationToken).ConfigureAwait(false);
                    started += runs;
                    if (next is not { } nextDue || nextDue > now)
                    {
                        break;
                    }

                    current = current with { NextFireAt = nextDue };
                }
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                Log.SchedulerError(engine.Logger, ex, schedule.Name);
            }
        }

        return started;
    }

    /// <summary>At most this many fire times of one schedule per tick (a minute of an every-second cron).</summary>
    private const int MaxFiresPerTick = 60;

    /// <summary>
    /// Fires the schedule's next fire time, or skips it as its misfire rule says. Returns the runs started and, when this
    /// node moved the schedule on, its new next fire time (null when nothing moved: another node fired it, or it cannot fire).
    /// </summary>
    private async Task<(int Started, DateTimeOffset? Next)> FireAsync(ScheduleRecord schedule, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (schedule.NextFireAt is not { } fireTime)
        {
            return (0, null);
        }

        // A schedule is checked when it is stored; these fail only when the node differs from the one that stored it
        // (a workflow not registered here, a time zone unknown here) or the row was written by hand.
        if (registry.Find(schedule.Workflow) is not { } workflow)
        {
            // In a cluster whose nodes register different workflows a node that lacks this one sees it due, at each fire
            // time, until a node that has it fires it: only a fire time missed (no node fired it in time) is worth a line.
            if (fireTime >= now - MissedAfter)
            {
                return (0, null);
            }

            if (FirstReport(schedule))
            {
                Log.ScheduleUnknownWorkflow(engine.Logger, schedule.Name, schedule.Workflow);
            }

            return (0, null);
        }

        if (!CronSchedule.TryParse(schedule.Cron, schedule.TimeZone, out var cron, out var cronError))
        {
            if (FirstReport(schedule))
            {
                Log.ScheduleBadCron(engine.Logger, schedule.Name, schedule.Cron, schedule.TimeZone, cronError);
            }

            return (0, null);
        }

        // Fire times at or after this one are not missed. A missed fire time moves the schedule on to the first of them
        // (which may be due already: the tick's loop fires it next), not past now: after an outage of a little over the
        // threshold, skip dropped every fire time of the last minute as well and run_once folded them into its one run.
        var notMissedFrom = now - MissedAfter;
        var missed = fireTime < notMissedFrom;
        var request = new FireScheduleRequest
        {
            ScheduleName = schedule.Name,
            FireTime = fireTime,
            ExpectedNextFireAt = fireTime,
            NewNextFireAt = cron!.Next(missed ? notMissedFrom - TimeSpan.FromTicks(1) : fireTime),
            Now = now,
        };
        if (missed && schedule.Misfire == MisfirePolicy.Skip)
        {
            Log.ScheduleSkipped(engine.Logger, schedule.Name, fireTime);
            var skipped = await store.FireScheduleAsync(request, cancellationToken).ConfigureAwait(false);
            return (0, skipped.Fired ? request.NewNextFireAt : null);
        }

        if (missed)
        {
            // RunOnce: one run stands for every missed fire; it carries the latest of them.
            fireTime = cron.Latest(fireTime, notMissedFrom - TimeSpan.FromTicks(1)) ?? fireTime;
            request = request with { FireTime = fireTime };
        }

        if (!TryReadInput(schedule, workflow, out var input, out var inputError))
        {
            if (FirstReport(schedule))
            {
                Log.ScheduleBadInput(engine.Logger, inputError, schedule.Name, workflow.Name);
            }

            return (0, null);
        }

        _reported.TryRemove(schedule.Name, out _);

        var fired = await worker.AdmitAsync(
            workflow,
            input,
            new RunOrigin { Now = now, ScheduleName = schedule.Name, ScheduledFireTime = fireTime },
            (run, ct) => store.FireScheduleAsync(request with { Run = run, ReadAs = new ScheduleContent(schedule.Workflow, schedule.Input) }, ct),
            static f => f.Run,
            cancellationToken).ConfigureAwait(false);
        var next = fired is { Fired: true } ? request.NewNextFireAt : null;
        if (fired is { Fired: true, Run: { Outcome: CreateRunOutcome.Created } created })
        {
            Log.ScheduleFired(engine.Logger, schedule.Name, fireTime, created.Run.Id);
            return (1, next);
        }

        if (fired is { Fired: true, Run: { Outcome: CreateRunOutcome.Conflict } conflict })
        {
            // The fire time is used up (recorded with no run); say so rather than let it vanish (a nightly catalog sync
            // while a manual one runs).
            Log.ScheduleFireConflict(engine.Logger, schedule.Name, fireTime, conflict.Run.Id, conflict.Run.ConcurrencyKey);
        }

        return (0, next);
    }

    /// <summary>True unless why the schedule cannot fire was already logged for its stored row as it is now.</summary>
    private bool FirstReport(ScheduleRecord schedule)
    {
        var stored = new Reported(schedule.NextFireAt, schedule.UpdatedAt, registry.Find(schedule.Workflow) is not null);
        if (_reported.TryGetValue(schedule.Name, out var reported) && reported == stored)
        {
            return false;
        }

        _reported[schedule.Name] = stored;
        return true;
    }

    /// <summary>
    /// Drops the record of every schedule the tick's reads show is no longer due (deleted, disabled, moved on by another
    /// node). Only where a read was not cut short by its limit: one that was full may have left out a schedule still due,
    /// which would then be logged again. Called only when the read of this node's workflows was not full (the read of
    /// every workflow is made only then); <paramref name="readAllElsewhere"/> says whether that second read was not full either.
    /// </summary>
    private void ForgetNotDue(IReadOnlyList<ScheduleRecord> due, bool readAllElsewhere)
    {
        if (_reported.IsEmpty)
        {
            return;
        }

        var stillDue = due.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, reported) in _reported)
        {
            if (!stillDue.Contains(name) && (reported.WorkflowHere || readAllElsewhere))
            {
                _reported.TryRemove(name, out _);
            }
        }
    }

    /// <param name="WorkflowHere">The schedule's workflow is registered on this node (so the schedule is in the tick's first read).</param>
    private readonly record struct Reported(DateTimeOffset? NextFireAt, DateTimeOffset UpdatedAt, bool WorkflowHere);

    private bool TryReadInput(ScheduleRecord schedule, WorkflowDefinition workflow, [NotNullWhen(true)] out RunInput? input, [NotNullWhen(false)] out RunInputException? error)
    {
        try
        {
            // Disposed: the input is read into its own object and its text copied, so the document's buffers go back to the pool.
            using var document = schedule.Input is null ? null : JsonDocument.Parse(schedule.Input);
            // Leniently, as a stored run's input is: the input was checked strictly when the schedule was written, and a
            // schedule stored before unknown fields were refused must still fire.
            return workflow.TryReadInput(document?.RootElement, engine.Json, out input, out error);
        }
        catch (JsonException ex)
        {
            input = null;
            error = new RunInputException($"input is not JSON: {ex.Message}", ex);
            return false;
        }
    }
}
