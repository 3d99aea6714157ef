using Baton.Core.Tests.Support;
using Baton.Runs;
using Baton.Scheduling;
using Baton.Storage;

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
        Assert.Equal(EngineHarness.Start.AddSeconds(20), schedule!.Record.NextFireAt);
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
        await node.Schedules.PutAsync(new ScheduleDefinition { Name = "hourly", Workflow = "nightly", Cron = "0 * * * *", Misfire = Storage.MisfirePolicy.Skip });

        node.Time.Advance(TimeSpan.FromHours(5).Add(TimeSpan.FromMinutes(30)));
        var fired = await node.Scheduler.TickAsync(CancellationToken.None);

        Assert.Equal(0, fired);
        Assert.Empty((await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
        var schedule = await node.Schedules.GetAsync("hourly");
        Assert.Equal(EngineHarness.Start.AddHours(6), schedule!.Record.NextFireAt);
    }

    [Fact]
    public async Task TickAsync_MissedFiresWithRunOnce_StartsOneRunForLatestMissedFire()
    {
        await using var node = await StartAsync();
        await node.Schedules.PutAsync(new ScheduleDefinition { Name = "hourly", Workflow = "nightly", Cron = "0 * * * *", Misfire = Storage.MisfirePolicy.RunOnce });

        node.Time.Advance(TimeSpan.FromHours(5).Add(TimeSpan.FromMinutes(30)));
        var fired = await node.Scheduler.TickAsync(CancellationToken.None);
        var again = await node.Scheduler.TickAsync(CancellationToken.None);

        Assert.Equal(1, fired);
        Assert.Equal(0, again);
        var run = Assert.Single((await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
        Assert.Equal(EngineHarness.Start.AddHours(5), run.ScheduledFireTime);
        Assert.Equal(EngineHarness.Start.AddHours(6), (await node.Schedules.GetAsync("hourly"))!.Record.NextFireAt);
    }

    [Fact]
    public async Task PutAsync_InvalidDefinition_RefusedAndNothingStored()
    {
        await using var node = await StartAsync();

        await Assert.ThrowsAsync<ScheduleValidationException>(() => node.Schedules.PutAsync(new ScheduleDefinition { Name = "x", Workflow = "nightly", Cron = "not cron" }));
        await Assert.ThrowsAsync<ScheduleValidationException>(() => node.Schedules.PutAsync(new ScheduleDefinition { Name = "x", Workflow = "missing", Cron = "0 2 * * *" }));
        await Assert.ThrowsAsync<ScheduleValidationException>(() => node.Schedules.PutAsync(new ScheduleDefinition { Name = "x", Workflow = "nightly", Cron = "0 2 * * *", TimeZone = "Nowhere/City" }));
        await Assert.ThrowsAsync<ScheduleValidationException>(() => node.Schedules.PutAsync(new ScheduleDefinition { Name = "bad name!", Workflow = "nightly", Cron = "0 2 * * *" }));

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
}
