using Baton.Core.Tests.Support;
using Baton.Runs;
using Baton.Scheduling;
using Baton.Storage;

namespace Baton.Core.Tests.Scheduling;

/// <summary>
/// Daylight-saving transitions through the scheduler itself: the clock is moved in steps of five minutes across the
/// transition and the scheduler ticks at each, so the runs it starts are what a node would start.
/// </summary>
public sealed class SchedulerDaylightSavingTests
{
    private static readonly TimeSpan Step = TimeSpan.FromMinutes(5);

    private static DateTimeOffset Utc(int y, int mo, int d, int h, int mi) => new(y, mo, d, h, mi, 0, TimeSpan.Zero);

    [Fact]
    public async Task TickAsync_BrusselsSpringForwardFixedTime_FiresOnceAtTheShift()
    {
        // 2026-03-29 02:00 CET -> 03:00 CEST: 02:30 local does not exist and fires at 03:00 CEST (01:00 UTC).
        var fires = await FireTimesAsync("30 2 * * *", "Europe/Brussels", Utc(2026, 3, 28, 22, 0), Utc(2026, 3, 29, 6, 0));

        Assert.Equal([Utc(2026, 3, 29, 1, 0)], fires.Runs);
        Assert.Equal(Utc(2026, 3, 30, 0, 30), fires.NextFireAt);
    }

    [Fact]
    public async Task TickAsync_BrusselsSpringForwardEveryQuarterInSkippedHour_FiresOnceAtTheShift()
    {
        // Four fire times fall in the skipped hour; one run stands for them, at the jump.
        var fires = await FireTimesAsync("*/15 2 * * *", "Europe/Brussels", Utc(2026, 3, 28, 22, 0), Utc(2026, 3, 29, 6, 0));

        Assert.Equal([Utc(2026, 3, 29, 1, 0)], fires.Runs);
    }

    [Fact]
    public async Task TickAsync_BrusselsFallBackFixedTime_FiresOnceAtFirstOccurrence()
    {
        // 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 local happens at 00:30 and at 01:30 UTC; a fixed time fires once.
        var fires = await FireTimesAsync("30 2 * * *", "Europe/Brussels", Utc(2026, 10, 24, 22, 0), Utc(2026, 10, 25, 6, 0));

        Assert.Equal([Utc(2026, 10, 25, 0, 30)], fires.Runs);
        Assert.Equal(Utc(2026, 10, 26, 1, 30), fires.NextFireAt);
    }

    [Fact]
    public async Task TickAsync_BrusselsFallBackInterval_FiresInBothOccurrences()
    {
        var fires = await FireTimesAsync("*/30 2 * * *", "Europe/Brussels", Utc(2026, 10, 24, 22, 0), Utc(2026, 10, 25, 6, 0));

        Assert.Equal([Utc(2026, 10, 25, 0, 0), Utc(2026, 10, 25, 0, 30), Utc(2026, 10, 25, 1, 0), Utc(2026, 10, 25, 1, 30)], fires.Runs);
    }

    [Fact]
    public async Task TickAsync_NewYorkSpringForwardFixedTime_FiresOnceAtTheShift()
    {
        // 2026-03-08 02:00 EST -> 03:00 EDT: 02:30 local fires at 03:00 EDT (07:00 UTC).
        var fires = await FireTimesAsync("30 2 * * *", "America/New_York", Utc(2026, 3, 8, 4, 0), Utc(2026, 3, 8, 10, 0));

        Assert.Equal([Utc(2026, 3, 8, 7, 0)], fires.Runs);
        Assert.Equal(Utc(2026, 3, 9, 6, 30), fires.NextFireAt);
    }

    [Fact]
    public async Task TickAsync_NewYorkFallBack_HourlyFiresEveryRealHourAndFixedTimeOnce()
    {
        // 2026-11-01 02:00 EDT -> 01:00 EST: 01:00-02:00 local is lived twice (05:00-06:00 and 06:00-07:00 UTC).
        var hourly = await FireTimesAsync("0 * * * *", "America/New_York", Utc(2026, 11, 1, 3, 30), Utc(2026, 11, 1, 8, 30));
        var daily = await FireTimesAsync("30 1 * * *", "America/New_York", Utc(2026, 11, 1, 3, 30), Utc(2026, 11, 1, 8, 30));

        Assert.Equal([Utc(2026, 11, 1, 4, 0), Utc(2026, 11, 1, 5, 0), Utc(2026, 11, 1, 6, 0), Utc(2026, 11, 1, 7, 0), Utc(2026, 11, 1, 8, 0)], hourly.Runs);
        Assert.Equal([Utc(2026, 11, 1, 5, 30)], daily.Runs);
        Assert.Equal(Utc(2026, 11, 2, 6, 30), daily.NextFireAt);
    }

    [Theory]
    // Rows as the NCrontab-based code stored them: its next fire time already written, the expression as given.
    [InlineData("0 2 * * *", "Europe/Brussels", "2026-01-01T01:00:00Z", "2026-01-02T01:00:00Z")]
    [InlineData("*/10 * * * * *", "UTC", "2026-01-01T00:00:10Z", "2026-01-01T00:00:20Z")]
    [InlineData("0 0 * * MON-FRI", "America/New_York", "2026-01-01T05:00:00Z", "2026-01-02T05:00:00Z")]
    [InlineData("0 3 * * *", "W. Europe Standard Time", "2026-01-01T02:00:00Z", "2026-01-02T02:00:00Z")]
    public async Task TickAsync_ScheduleStoredBeforeCronos_FiresAndMovesToNextFireTime(string cron, string zone, string stored, string next)
    {
        var storedFire = DateTimeOffset.Parse(stored, System.Globalization.CultureInfo.InvariantCulture);
        await using var node = await StartAsync(EngineHarness.Start);
        await node.Store.Schedules.UpsertScheduleAsync(new UpsertScheduleRequest
        {
            Name = "old", Workflow = "nightly", Cron = cron, TimeZone = zone, Input = "7", Enabled = true,
            Misfire = MisfirePolicy.Skip, NextFireAt = storedFire, Now = EngineHarness.Start,
        });

        node.Time.AdvanceTo(storedFire);
        var fired = await node.Scheduler.TickAsync(CancellationToken.None);

        Assert.Equal(1, fired);
        var run = Assert.Single((await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
        Assert.Equal(storedFire, run.ScheduledFireTime);
        Assert.Equal(DateTimeOffset.Parse(next, System.Globalization.CultureInfo.InvariantCulture), (await node.Schedules.GetAsync("old"))!.NextFireAt);
    }

    private static Task<EngineHarness> StartAsync(DateTimeOffset start) => EngineHarness.StartAsync(
        b => b.AddWorkflow<int, int>("nightly", (_, x, _) => Task.FromResult(x)),
        time: new ExactClock(start),
        startServices: false);

    /// <summary>Creates the schedule at <paramref name="from"/>, ticks every five minutes until <paramref name="until"/>.</summary>
    private static async Task<(List<DateTimeOffset> Runs, DateTimeOffset? NextFireAt)> FireTimesAsync(string cron, string zone, DateTimeOffset from, DateTimeOffset until)
    {
        await using var node = await StartAsync(from);
        await node.Schedules.PutAsync(new ScheduleDefinition { Name = "dst", Workflow = "nightly", Cron = cron, TimeZone = zone, Input = System.Text.Json.JsonDocument.Parse("1").RootElement });
        var started = 0;
        while (node.Time.GetUtcNow() < until)
        {
            node.Time.Advance(Step);
            started += await node.Scheduler.TickAsync(CancellationToken.None);
        }

        var runs = (await node.Store.Runs.ListRunsAsync(new ListRunsRequest { Limit = 500 })).Runs;
        Assert.Equal(started, runs.Count);
        return ([.. runs.Select(r => r.ScheduledFireTime!.Value).Order()], (await node.Schedules.GetAsync("dst"))!.NextFireAt);
    }
}
