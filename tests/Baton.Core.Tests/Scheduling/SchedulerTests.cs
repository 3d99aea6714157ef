using Baton.Core.Tests.Support;
using Baton.Runs;
using Baton.Scheduling;
using Baton.Storage;
using Baton.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Core.Tests.Scheduling;

public sealed class SchedulerTests
{
    private static Task<EngineHarness> StartAsync() => EngineHarness.StartAsync(
        b => b.AddWorkflow<int, int>("nightly", (_, x, _) => Task.FromResult(x)),
        startServices: false);

    [Fact]
    public async Task TickAsync_FireTimeReached_StartsExactlyOneRun()
    {
        await using var node = await StartAsync();
        await node.Schedules.PutAsync(new ScheduleDefinition { Name = "every-10s", Workflow = "nightly", Cron = "*/10 * * * * *" });

        var before = await node.Scheduler.TickAsync(CancellationToken.None);
        node.Time.Advance(TimeSpan.FromSeconds(10));
        var fired = await node.Scheduler.TickAsync(CancellationToken.None);
        var again = await node.Scheduler.TickAsync(CancellationToken.None);

        Assert.Equal(0, before);
        Assert.Equal(1, fired);
        Assert.Equal(0, again);
        var run = Assert.Single((await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
        Assert.Equal("every-10s", run.ScheduleName);
        Assert.Equal(EngineHarness.Start.AddSeconds(10), run.ScheduledFireTime);
        var schedule = await node.Schedules.GetAsync("every-10s");
        Assert.Equal(EngineHarness.Start.AddSeconds(20), schedule!.NextFireAt);
    }

    [Fact]
    public async Task TickAsync_TwoSchedulersSameFireTime_OneRun()
    {
        await using var node = await StartAsync();
        await using var other = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("nightly", (_, x, _) => Task.FromResult(x)),
            o => o.NodeId = "node-b", databasePath: node.DatabasePath, time: node.Time, startServices: false);
        await node.Schedules.PutAsync(new ScheduleDefinition { Name = "s", Workflow = "nightly", Cron = "* * * * * *" });

        node.Time.Advance(TimeSpan.FromSeconds(1));
        var fired = await Task.WhenAll(node.Scheduler.TickAsync(CancellationToken.None), other.Scheduler.TickAsync(CancellationToken.None));

        Assert.Equal(1, fired.Sum());
        Assert.Single((await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
    }

    [Fact]
    public async Task TickAsync_MissedFiresWithSkip_StartsNothingAndMovesOn()
    {
        await using var node = await StartAsync();
        await node.Schedules.PutAsync(new ScheduleDefinition { Name = "hourly", Workflow = "nightly", Cron = "0 * * * *", Misfire = Baton.Scheduling.MisfirePolicy.Skip });

        node.Time.Advance(TimeSpan.FromHours(5).Add(TimeSpan.FromMinutes(30)));
        var fired = await node.Scheduler.TickAsync(CancellationToken.None);

        Assert.Equal(0, fired);
        Assert.Empty((await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
        var schedule = await node.Schedules.GetAsync("hourly");
        Assert.Equal(EngineHarness.Start.AddHours(6), schedule!.NextFireAt);
    }

    [Fact]
    public async Task TickAsync_RunOnceAfterMoreThan10000MissedFireTimes_RunCarriesTheLatestMissedFireTime()
    {
        // An every-minute schedule down for 8 days (11,520 fire times). Before: the run carried the 10,000th.
        await using var node = await StartAsync();
        await node.Schedules.PutAsync(new ScheduleDefinition { Name = "m", Workflow = "nightly", Cron = "* * * * *", Misfire = MisfirePolicy.RunOnce });

        node.Time.Advance(TimeSpan.FromDays(8) + TimeSpan.FromSeconds(30));
        await node.Scheduler.TickAsync(CancellationToken.None);

        var runs = (await node.Store.Runs.ListRunsAsync(new ListRunsRequest { Limit = 500 })).Runs;
        Assert.Equal(EngineHarness.Start.AddDays(8).AddMinutes(-1), runs.Select(r => r.ScheduledFireTime!.Value).Order().First());
    }

    [Fact]
    public async Task TickAsync_MissedFiresWithRunOnce_StartsOneRunForLatestMissedFire()
    {
        await using var node = await StartAsync();
        await node.Schedules.PutAsync(new ScheduleDefinition { Name = "hourly", Workflow = "nightly", Cron = "0 * * * *", Misfire = Baton.Scheduling.MisfirePolicy.RunOnce });

        node.Time.Advance(TimeSpan.FromHours(5).Add(TimeSpan.FromMinutes(30)));
        var fired = await node.Scheduler.TickAsync(CancellationToken.None);
        var again = await node.Scheduler.TickAsync(CancellationToken.None);

        Assert.Equal(1, fired);
        Assert.Equal(0, again);
        var run = Assert.Single((await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
        Assert.Equal(EngineHarness.Start.AddHours(5), run.ScheduledFireTime);
        Assert.Equal(EngineHarness.Start.AddHours(6), (await node.Schedules.GetAsync("hourly"))!.NextFireAt);
    }

    [Theory]
    [InlineData(MisfirePolicy.Skip, 12)]
    [InlineData(MisfirePolicy.RunOnce, 13)]
    public async Task TickAsync_StopSlightlyLongerThanTheThreshold_OnlyTheFireTimesOverItAreMissed(MisfirePolicy misfire, int expected)
    {
        // An every-5-s schedule after a 66 s stop: only the fire time at +5 s is more than a minute late. Before: it moved the
        // schedule past now, so skip dropped the 12 fire times of the last minute too (run_once folded them into one run).
        await using var node = await StartAsync();
        await node.Schedules.PutAsync(new ScheduleDefinition { Name = "every-5s", Workflow = "nightly", Cron = "*/5 * * * * *", Misfire = misfire });

        node.Time.Advance(TimeSpan.FromSeconds(66));
        var fired = await node.Scheduler.TickAsync(CancellationToken.None);

        Assert.Equal(expected, fired);
        var times = (await node.Store.Runs.ListRunsAsync(new ListRunsRequest { Limit = 100 })).Runs.Select(r => r.ScheduledFireTime!.Value).Order().ToList();
        var onTime = Enumerable.Range(2, 12).Select(i => EngineHarness.Start.AddSeconds(5 * i));
        Assert.Equal(misfire == MisfirePolicy.RunOnce ? [EngineHarness.Start.AddSeconds(5), .. onTime] : onTime, times);
        Assert.Equal(EngineHarness.Start.AddSeconds(70), (await node.Schedules.GetAsync("every-5s"))!.NextFireAt);
    }

    [Fact]
    public async Task TickAsync_EverySecondCronLateByLessThanTheMisfireThreshold_CatchesUpInOneTick()
    {
        // Before: one fire per tick, while one more fell due per tick, so the schedule stayed 30 s late for ever.
        await using var node = await StartAsync();
        await node.Schedules.PutAsync(new ScheduleDefinition { Name = "each-second", Workflow = "nightly", Cron = "* * * * * *" });

        node.Time.Advance(TimeSpan.FromSeconds(30));
        var fired = await node.Scheduler.TickAsync(CancellationToken.None);
        node.Time.Advance(TimeSpan.FromSeconds(1));
        var next = await node.Scheduler.TickAsync(CancellationToken.None);

        Assert.Equal(30, fired);
        Assert.Equal(1, next);
        var runs = (await node.Store.Runs.ListRunsAsync(new ListRunsRequest { Limit = 100 })).Runs;
        Assert.Equal(Enumerable.Range(1, 31).Select(i => EngineHarness.Start.AddSeconds(i)), runs.Select(r => r.ScheduledFireTime!.Value).Order());
        Assert.Equal(EngineHarness.Start.AddSeconds(32), (await node.Schedules.GetAsync("each-second"))!.NextFireAt);
    }

    [Fact]
    public async Task PutAsync_SameScheduleWrittenAgainAtAStartAfterItsFireTime_DueFireStillRuns()
    {
        // What a restart does to a schedule from configuration (Baton:Schedules:*, the catalog's nightly sync): it is written
        // again. Before: its due fire time moved on and the fire that fell during the restart never ran.
        await using var node = await StartAsync();
        var definition = new ScheduleDefinition { Name = "every-minute", Workflow = "nightly", Cron = "* * * * *", Misfire = MisfirePolicy.RunOnce };
        await node.Schedules.PutAsync(definition);

        node.Time.Advance(TimeSpan.FromSeconds(90));
        await node.Schedules.PutAsync(definition);
        var fired = await node.Scheduler.TickAsync(CancellationToken.None);

        Assert.Equal(1, fired);
        var run = Assert.Single((await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
        Assert.Equal(EngineHarness.Start.AddMinutes(1), run.ScheduledFireTime);
    }

    [Fact]
    public async Task TickAsync_SchedulerIntervalLongerThanAMinute_FireLateByLessThanTwoIntervalsRuns()
    {
        // Before: with a 90 s interval every fire was found more than a minute late and skipped, on a running server.
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("nightly", (_, x, _) => Task.FromResult(x)),
            o => o.SchedulerInterval = TimeSpan.FromSeconds(90),
            startServices: false);
        await node.Schedules.PutAsync(new ScheduleDefinition { Name = "every-20s", Workflow = "nightly", Cron = "*/20 * * * * *" });

        node.Time.Advance(TimeSpan.FromSeconds(100));
        var fired = await node.Scheduler.TickAsync(CancellationToken.None);

        Assert.Equal(5, fired);
    }

    [Fact]
    public async Task TickAsync_FireRefusedByTheConcurrencyKey_LoggedNamingTheRunThatHoldsIt()
    {
        // Before: the fire was recorded with no run and nothing said so (a nightly sync while a manual one ran).
        var logs = new CapturingLoggerProvider();
        var release = new TaskCompletionSource();
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("single", async (_, x, ct) => { await release.Task.WaitAsync(ct); return x; }, o => { o.ConcurrencyKey = "single"; o.ConcurrencyLimit = 1; }),
            startServices: false,
            logs: logs);
        var holder = await node.StartRunAsync("single");
        await node.Schedules.PutAsync(new ScheduleDefinition { Name = "s", Workflow = "single", Cron = "*/10 * * * * *" });

        node.Time.Advance(TimeSpan.FromSeconds(10));
        var fired = await node.Scheduler.TickAsync(CancellationToken.None);
        release.SetResult();

        Assert.Equal(0, fired);
        var line = Assert.Single(logs.Entries, e => e.EventId == 406);
        Assert.Contains(holder, line.Message, StringComparison.Ordinal);
        Assert.Equal(EngineHarness.Start.AddSeconds(20), (await node.Schedules.GetAsync("s"))!.NextFireAt);
    }

    [Fact]
    public async Task PutAsync_InvalidDefinition_RefusedAndNothingStored()
    {
        await using var node = await StartAsync();

        await Assert.ThrowsAsync<ScheduleValidationException>(() => node.Schedules.PutAsync(new ScheduleDefinition { Name = "x", Workflow = "nightly", Cron = "not cron" }));
        await Assert.ThrowsAsync<ScheduleValidationException>(() => node.Schedules.PutAsync(new ScheduleDefinition { Name = "x", Workflow = "missing", Cron = "0 2 * * *" }));
        await Assert.ThrowsAsync<ScheduleValidationException>(() => node.Schedules.PutAsync(new ScheduleDefinition { Name = "x", Workflow = "nightly", Cron = "0 2 * * *", TimeZone = "Nowhere/City" }));
        await Assert.ThrowsAsync<ScheduleValidationException>(() => node.Schedules.PutAsync(new ScheduleDefinition { Name = "bad name!", Workflow = "nightly", Cron = "0 2 * * *" }));
        // .NET's $ also matches before a final newline: "x\n" passed the name's pattern, was stored, and broke the Location header.
        await Assert.ThrowsAsync<ScheduleValidationException>(() => node.Schedules.PutAsync(new ScheduleDefinition { Name = "x\n", Workflow = "nightly", Cron = "0 2 * * *" }));
        // "." and ".." fit the character set, but no URL names them (/api/schedules/.. is /api/): stored, they could not be read or deleted.
        var pathStep = await Assert.ThrowsAsync<ScheduleValidationException>(() => node.Schedules.PutAsync(new ScheduleDefinition { Name = "..", Workflow = "nightly", Cron = "0 2 * * *" }));
        Assert.Contains("other than '.' and '..'", pathStep.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ScheduleValidationException>(() => node.Schedules.PutAsync(new ScheduleDefinition { Name = ".", Workflow = "nightly", Cron = "0 2 * * *" }));
        var misfire = await Assert.ThrowsAsync<ScheduleValidationException>(() => node.Schedules.PutAsync(new ScheduleDefinition { Name = "x", Workflow = "nightly", Cron = "0 2 * * *", Misfire = (MisfirePolicy)5 }));
        Assert.Contains("misfire 5 is not a misfire policy", misfire.Message, StringComparison.Ordinal);

        Assert.Empty(await node.Schedules.ListAsync());
    }

    [Fact]
    public async Task Scheduler_SecondNodeOnOneSecondCron_EveryFireTimeOnce()
    {
        await using var a = await StartAsync();
        await using var b = await EngineHarness.StartAsync(
            bb => bb.AddWorkflow<int, int>("nightly", (_, x, _) => Task.FromResult(x)),
            o => o.NodeId = "node-b", databasePath: a.DatabasePath, time: a.Time, startServices: false);
        await a.Schedules.PutAsync(new ScheduleDefinition { Name = "tick", Workflow = "nightly", Cron = "* * * * * *" });

        for (var second = 0; second < 30; second++)
        {
            a.Time.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAll(a.Scheduler.TickAsync(CancellationToken.None), b.Scheduler.TickAsync(CancellationToken.None));
        }

        var runs = (await a.Store.Runs.ListRunsAsync(new ListRunsRequest { Limit = 500 })).Runs;
        Assert.Equal(30, runs.Count);
        Assert.Equal(30, runs.Select(r => r.ScheduledFireTime).Distinct().Count());
    }

    [Theory]
    // A workflow this node lacks is another node's to fire: said only once the fire time is missed (no node fired it in time).
    [InlineData("missing", "* * * * * *", null, 403, 61)]
    [InlineData("nightly", "not a cron", null, 404, 0)]
    [InlineData("nightly", "* * * * * *", "\"text\"", 405, 0)]
    [InlineData("nightly", "* * * * * *", "{not json", 405, 0)]
    public async Task TickAsync_ScheduleThatCannotFire_LogsWhyOnceAndStartsNothing(string workflow, string cron, string? input, int eventId, int lateSeconds)
    {
        var logs = new CapturingLoggerProvider();
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("nightly", (_, x, _) => Task.FromResult(x)), startServices: false, logs: logs);
        // Written to the store directly, as a row stored by a node with other workflows or by hand would be.
        await node.Store.Schedules.UpsertScheduleAsync(new UpsertScheduleRequest
        {
            Name = "broken", Workflow = workflow, Cron = cron, TimeZone = "UTC", Input = input, Enabled = true,
            Misfire = MisfirePolicy.RunOnce, NextFireAt = EngineHarness.Start.AddSeconds(1), Now = EngineHarness.Start,
        });

        // The fire time is a second after the start; the tick is that many seconds after it.
        node.Time.AdvanceTo(EngineHarness.Start.AddSeconds(1 + lateSeconds));
        var fired = await node.Scheduler.TickAsync(CancellationToken.None);
        var again = await node.Scheduler.TickAsync(CancellationToken.None);

        Assert.Equal(0, fired + again);
        var entry = Assert.Single(logs.Entries, e => e.EventId is >= 403 and <= 405);
        Assert.Equal(eventId, entry.EventId);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, entry.Level);
        Assert.Contains("broken", entry.Message);
        Assert.Empty((await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
    }

    [Fact]
    public async Task TickAsync_RunOnceScheduleThatCannotFireMoreThanAMinuteLate_LogsOnceUntilWrittenAgain()
    {
        // Before: the run_once schedule tried the latest missed fire time, a new one every second, and logged it every tick.
        var logs = new CapturingLoggerProvider();
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("nightly", (_, x, _) => Task.FromResult(x)), startServices: false, logs: logs);
        var broken = new UpsertScheduleRequest
        {
            Name = "broken", Workflow = "nightly", Cron = "* * * * * *", TimeZone = "UTC", Input = "\"text\"", Enabled = true,
            Misfire = MisfirePolicy.RunOnce, NextFireAt = EngineHarness.Start.AddSeconds(1), Now = EngineHarness.Start,
        };
        await node.Store.Schedules.UpsertScheduleAsync(broken);

        node.Time.Advance(TimeSpan.FromMinutes(2));
        for (var tick = 0; tick < 30; tick++)
        {
            await node.Scheduler.TickAsync(CancellationToken.None);
            node.Time.Advance(TimeSpan.FromSeconds(1));
        }

        var whileStuck = logs.Entries.Count(e => e.EventId == 405);
        await node.Store.Schedules.UpsertScheduleAsync(broken with { Now = node.Time.GetUtcNow() });
        for (var tick = 0; tick < 5; tick++)
        {
            await node.Scheduler.TickAsync(CancellationToken.None);
            node.Time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(1, whileStuck);
        Assert.Equal(2, logs.Entries.Count(e => e.EventId == 405));
        Assert.Empty((await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
    }

    [Fact]
    public async Task TickAsync_ManyEarlierSchedulesOfAWorkflowNotHere_OwnScheduleStillFires()
    {
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("nightly", (_, x, _) => Task.FromResult(x)), startServices: false);
        // More schedules of another node's workflow than one tick reads, all due before this node's own.
        await StoreEarlierSchedulesAsync(node, "elsewhere", "other-nodes-workflow", input: null);

        await node.Store.Schedules.UpsertScheduleAsync(new UpsertScheduleRequest
        {
            Name = "mine", Workflow = "nightly", Cron = "* * * * * *", TimeZone = "UTC", Input = "1", Enabled = true,
            Misfire = MisfirePolicy.RunOnce, NextFireAt = EngineHarness.Start.AddSeconds(1), Now = EngineHarness.Start,
        });

        node.Time.Advance(TimeSpan.FromSeconds(1));
        var fired = await node.Scheduler.TickAsync(CancellationToken.None);

        Assert.Equal(1, fired);
        Assert.Equal("mine", Assert.Single((await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs).ScheduleName);
    }

    [Fact]
    public async Task TickAsync_ManyEarlierSchedulesThatCannotFireHere_OtherScheduleStillFires()
    {
        // As after a deploy that changed a workflow's input type: its per-customer schedules' stored input no longer fits.
        // Before: they stayed due, filled every tick's read (100) and no other schedule of the node fired again.
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("nightly", (_, x, _) => Task.FromResult(x)), startServices: false);
        await StoreEarlierSchedulesAsync(node, "old-input", "nightly", input: "\"text\"");

        await node.Schedules.PutAsync(new ScheduleDefinition
        {
            Name = "fits", Workflow = "nightly", Cron = "* * * * * *", Input = System.Text.Json.JsonDocument.Parse("1").RootElement,
        });

        node.Time.Advance(TimeSpan.FromSeconds(1));
        var first = await node.Scheduler.TickAsync(CancellationToken.None);
        node.Time.Advance(TimeSpan.FromSeconds(1));
        var second = await node.Scheduler.TickAsync(CancellationToken.None);

        Assert.Equal(2, first + second);
        Assert.All((await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs, r => Assert.Equal("fits", r.ScheduleName));
    }

    [Fact]
    public async Task TickAsync_SchedulesThatCouldNotFireDeletedDisabledOrFiredElsewhere_DueReadShrinksBack()
    {
        // Before: the record of schedules that could not fire here only lost a schedule when this node fired it, and its size
        // was added to every tick's due read: 40 of another node's workflow fired there and 40 with input that no longer fits
        // deleted or disabled still made each read ask for 181 (100 + 81) for ever.
        var logs = new CapturingLoggerProvider();
        var reads = new List<DueSchedulesRequest>();
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("nightly", (_, x, _) => Task.FromResult(x)),
            startServices: false,
            logs: logs,
            configureServices: services => services.AddSingleton<IScheduleStore>(sp => new WatchedScheduleStore(sp.GetRequiredService<IBatonStore>().Schedules, reads: reads)));
        await using var other = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("elsewhere", (_, x, _) => Task.FromResult(x)),
            o => o.NodeId = "node-b", databasePath: node.DatabasePath, time: node.Time, startServices: false);
        UpsertScheduleRequest Hourly(string name, string workflow, string input) => new()
        {
            Name = name, Workflow = workflow, Cron = "0 * * * *", TimeZone = "UTC", Input = input, Enabled = true,
            Misfire = MisfirePolicy.RunOnce, NextFireAt = EngineHarness.Start.AddSeconds(1), Now = EngineHarness.Start,
        };
        for (var i = 0; i < 40; i++)
        {
            await node.Store.Schedules.UpsertScheduleAsync(Hourly($"elsewhere-{i:00}", "elsewhere", "1"));
            await node.Store.Schedules.UpsertScheduleAsync(Hourly($"old-input-{i:00}", "nightly", "\"text\""));
        }

        await node.Store.Schedules.UpsertScheduleAsync(Hourly("still-stuck", "nightly", "\"text\""));
        // More than a minute late (the other node was down): only then does this node say why it does not fire them.
        node.Time.AdvanceTo(EngineHarness.Start.AddSeconds(1) + Scheduler.MisfireThreshold + TimeSpan.FromSeconds(1));
        var firstTick = node.Time.GetUtcNow();
        await node.Scheduler.TickAsync(CancellationToken.None);
        var firedElsewhere = await other.Scheduler.TickAsync(CancellationToken.None);
        for (var i = 0; i < 40; i++)
        {
            var name = $"old-input-{i:00}";
            _ = i < 20
                ? await node.Store.Schedules.DeleteScheduleAsync(name)
                : (await node.Store.Schedules.UpsertScheduleAsync(Hourly(name, "nightly", "\"text\"") with { Enabled = false, NextFireAt = null, Now = node.Time.GetUtcNow() })).Schedule.Enabled;
        }

        for (var tick = 0; tick < 5; tick++)
        {
            node.Time.Advance(TimeSpan.FromSeconds(1));
            await node.Scheduler.TickAsync(CancellationToken.None);
        }

        Assert.Equal(40, firedElsewhere);
        // The one schedule still due and unable to fire is read past; the rest are forgotten. Before they were: the record's
        // 41 of this node's workflow and only those are read past (not the 40 of a workflow the read leaves out).
        Assert.Equal(100 + 1, reads.Last(r => r.Workflows is not null).Max);
        Assert.Equal(100 + 41, reads.First(r => r.Workflows is not null && r.Now > firstTick).Max);
        Assert.Equal(40, logs.Entries.Count(e => e.EventId == 403));
        Assert.Equal(1, logs.Entries.Count(e => e.EventId == 405 && e.Message.Contains("still-stuck", StringComparison.Ordinal)));
        Assert.Equal(41, logs.Entries.Count(e => e.EventId == 405));
    }

    [Fact]
    public async Task TickAsync_WorkflowOnlyOnAnotherNodeThatFiresItOnTime_NoWarningUntilNoNodeFiresIt()
    {
        // Before: node B, which lacks the workflow, saw each new fire time due before node A fired it and warned (EventId
        // 403) once per fire time, for ever, in a healthy cluster.
        var logs = new CapturingLoggerProvider();
        await using var b = await EngineHarness.StartAsync(
            w => w.AddWorkflow<int, int>("elsewhere", (_, x, _) => Task.FromResult(x)),
            o => o.NodeId = "node-b", startServices: false, logs: logs);
        var a = await EngineHarness.StartAsync(
            w => w.AddWorkflow<int, int>("nightly", (_, x, _) => Task.FromResult(x)),
            databasePath: b.DatabasePath, time: b.Time, startServices: false);
        await a.Schedules.PutAsync(new ScheduleDefinition { Name = "hourly", Workflow = "nightly", Cron = "0 * * * *" });

        // B looks at each fire time as it falls due and until just under the threshold late; A fires it then, in time.
        var firedByA = 0;
        for (var hour = 1; hour <= 20; hour++)
        {
            var fireTime = EngineHarness.Start.AddHours(hour);
            foreach (var late in new[] { TimeSpan.Zero, Scheduler.MisfireThreshold / 2, Scheduler.MisfireThreshold - TimeSpan.FromSeconds(1) })
            {
                b.Time.AdvanceTo(fireTime + late);
                await b.Scheduler.TickAsync(CancellationToken.None);
            }

            firedByA += await a.Scheduler.TickAsync(CancellationToken.None);
        }

        var whileAFires = logs.Entries.Count(e => e.EventId == 403);
        await a.DisposeAsync();

        // No node fires the next one: B says so once, when it is more than the threshold late, and no more on later ticks.
        var missed = EngineHarness.Start.AddHours(21);
        b.Time.AdvanceTo(missed + Scheduler.MisfireThreshold);
        var atThreshold = await b.Scheduler.TickAsync(CancellationToken.None);
        var loggedAtThreshold = logs.Entries.Count(e => e.EventId == 403);
        var firedByB = atThreshold;
        for (var tick = 0; tick < 10; tick++)
        {
            b.Time.Advance(TimeSpan.FromSeconds(1));
            firedByB += await b.Scheduler.TickAsync(CancellationToken.None);
        }

        Assert.Equal(20, firedByA);
        Assert.Equal(0, whileAFires);
        Assert.Equal(0, loggedAtThreshold);
        Assert.Equal(0, firedByB);
        var warning = Assert.Single(logs.Entries, e => e.EventId == 403);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, warning.Level);
        Assert.Contains("hourly", warning.Message);
        Assert.Contains("nightly", warning.Message);
        var runs = (await b.Store.Runs.ListRunsAsync(new ListRunsRequest { Limit = 100 })).Runs;
        Assert.Equal(20, runs.Count);
        Assert.Equal(missed, (await b.Store.Schedules.GetScheduleAsync("hourly"))!.NextFireAt);
    }

    /// <summary>Stores 150 every-second schedules due at the start (more than one tick reads), straight into the store as another node or an older deploy would have.</summary>
    private static async Task StoreEarlierSchedulesAsync(EngineHarness node, string prefix, string workflow, string? input)
    {
        for (var i = 0; i < 150; i++)
        {
            await node.Store.Schedules.UpsertScheduleAsync(new UpsertScheduleRequest
            {
                Name = $"{prefix}-{i:000}", Workflow = workflow, Cron = "* * * * * *", TimeZone = "UTC", Input = input, Enabled = true,
                Misfire = MisfirePolicy.RunOnce, NextFireAt = EngineHarness.Start, Now = EngineHarness.Start,
            });
        }
    }

    [Fact]
    public async Task SetEnabledAsync_ScheduleReplacedAfterEveryRead_GivesUpWithAClearErrorLeavingTheLastEdit()
    {
        // Each read is followed by a replace with another cron, so the write, made only while the schedule is as read, never
        // lands: after three reads the toggle says so rather than loop or write an older definition.
        var edits = 0;
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("nightly", (_, x, _) => Task.FromResult(x)),
            startServices: false,
            configureServices: services => services.AddSingleton<IScheduleStore>(sp => new WatchedScheduleStore(
                sp.GetRequiredService<IBatonStore>().Schedules,
                afterGet: async store =>
                {
                    var edit = Interlocked.Increment(ref edits);
                    var current = (await store.GetScheduleAsync("s"))!;
                    await store.UpsertScheduleAsync(new UpsertScheduleRequest
                    {
                        Name = "s", Workflow = current.Workflow, Cron = $"{edit} * * * *", TimeZone = current.TimeZone, Input = current.Input,
                        Enabled = current.Enabled, Misfire = current.Misfire, NextFireAt = current.NextFireAt, Now = current.UpdatedAt,
                    });
                })));
        await node.Schedules.PutAsync(new ScheduleDefinition { Name = "s", Workflow = "nightly", Cron = "0 * * * *" });

        var error = await Assert.ThrowsAsync<ScheduleValidationException>(() => node.Schedules.SetEnabledAsync("s", false));

        Assert.Equal("schedule 's' was replaced 3 times while being disabled; try again", error.Message);
        var stored = await node.Store.Schedules.GetScheduleAsync("s");
        Assert.Equal(("3 * * * *", true), (stored!.Cron, stored.Enabled));
        Assert.Null(await node.Schedules.SetEnabledAsync("no-such", true));
        Assert.Null(await node.Schedules.SetEnabledAsync("..", true));
    }

    [Fact]
    public async Task TickAsync_WorkerRunning_ScheduledRunIsCreatedLeasedToThisNodeAndRunsHere()
    {
        var gate = new TaskCompletionSource();
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("gated", async (_, x, _) => { await gate.Task; return x; }));
        await Baton.Testing.Poll.UntilAsync(() => Task.FromResult(node.Worker.IsRunning), running => running, "the worker to start");
        await node.Schedules.PutAsync(new ScheduleDefinition { Name = "s", Workflow = "gated", Cron = "*/10 * * * * *" });

        node.Time.AdvanceTo(EngineHarness.Start.AddSeconds(10));
        var fired = await node.Scheduler.TickAsync(CancellationToken.None);
        // Read before the gate opens: the fire itself stored the run leased to this node, as a local client start does.
        var created = Assert.Single((await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
        gate.SetResult();
        var done = await node.WaitForEndAsync(created.Id);

        Assert.Equal(1, fired);
        Assert.Equal(RunStatus.Running, created.Status);
        Assert.Equal("node-a", created.LeaseOwner);
        Assert.Equal(RunStatus.Succeeded, done.Status);
        Assert.Equal(1, done.Executions);
    }

    [Fact]
    public async Task TickAsync_InputEditedBetweenTheDueReadAndTheFire_TheNewInputFires()
    {
        // Same cron: the edit keeps the due fire time. Before: that tick fired the input it had read ("1").
        var definition = new ScheduleDefinition
        {
            Name = "s", Workflow = "nightly", Cron = "*/10 * * * * *", Input = System.Text.Json.JsonDocument.Parse("1").RootElement,
        };
        EngineHarness? node = null;
        node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("nightly", (_, x, _) => Task.FromResult(x)),
            startServices: false,
            configureServices: services => services.AddSingleton<IScheduleStore>(sp => new WatchedScheduleStore(
                sp.GetRequiredService<IBatonStore>().Schedules,
                () => node!.Schedules.PutAsync(definition with { Input = System.Text.Json.JsonDocument.Parse("2").RootElement }))));
        await using var _ = node;
        await node.Schedules.PutAsync(definition);
        node.Time.Advance(TimeSpan.FromSeconds(10));

        var stale = await node.Scheduler.TickAsync(CancellationToken.None);
        var fresh = await node.Scheduler.TickAsync(CancellationToken.None);

        Assert.Equal((0, 1), (stale, fresh));
        var run = Assert.Single((await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
        Assert.Equal("2", run.Input);
    }
}
