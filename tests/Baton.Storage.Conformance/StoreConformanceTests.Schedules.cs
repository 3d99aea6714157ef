using Baton.Runs;
using Baton.Scheduling;
using Baton.Storage;

namespace Baton.Storage.Conformance;

public abstract partial class StoreConformanceTests
{
    private static UpsertScheduleRequest Schedule(string name, DateTimeOffset? nextFireAt = null, bool enabled = true, DateTimeOffset? now = null) => new()
    {
        Name = name,
        Workflow = "report",
        Cron = "0 2 * * *",
        TimeZone = "Europe/Berlin",
        Input = """{"kind":"daily"}""",
        Enabled = enabled,
        Misfire = MisfirePolicy.RunOnce,
        NextFireAt = nextFireAt,
        Now = now ?? T0,
    };

    private static FireScheduleRequest Fire(string name, DateTimeOffset fireTime, DateTimeOffset? expected, DateTimeOffset? next) => new()
    {
        ScheduleName = name,
        FireTime = fireTime,
        ExpectedNextFireAt = expected,
        NewNextFireAt = next,
        Now = fireTime.AddSeconds(1),
        Run = NewRun("report", fireTime.AddSeconds(1)) with { ScheduleName = name, ScheduledFireTime = fireTime },
    };

    [Fact]
    public async Task UpsertScheduleAsync_New_StoresAllFields()
    {
        var store = await NewStoreAsync();

        var returned = await store.Schedules.UpsertScheduleAsync(Schedule("nightly", T0.AddHours(14)));
        var stored = await store.Schedules.GetScheduleAsync("nightly");

        Assert.True(returned.Created);
        foreach (var s in new[] { returned.Schedule, stored! })
        {
            Assert.Equal("nightly", s.Name);
            Assert.Equal("report", s.Workflow);
            Assert.Equal("0 2 * * *", s.Cron);
            Assert.Equal("Europe/Berlin", s.TimeZone);
            Assert.Equal("""{"kind":"daily"}""", s.Input);
            Assert.True(s.Enabled);
            Assert.Equal(MisfirePolicy.RunOnce, s.Misfire);
            Assert.Equal(T0.AddHours(14), s.NextFireAt);
            Assert.Null(s.LastFireAt);
            Assert.Null(s.LastRunId);
            Assert.Equal(T0, s.CreatedAt);
            Assert.Equal(T0, s.UpdatedAt);
        }
    }

    [Fact]
    public async Task UpsertScheduleAsync_SameCronAndZoneAgain_KeepsTheDueFireTime()
    {
        // A schedule written again at every start (configuration) with its fire time due: before, the fire time moved to the
        // next one after the restart, and the due fire never ran, whatever the misfire rule.
        var store = await NewStoreAsync();
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", T0.AddHours(2)));

        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", T0.AddDays(1).AddHours(2), now: T0.AddHours(2).AddSeconds(30)) with { Input = """{"kind":"new"}""" });
        var kept = await store.Schedules.GetScheduleAsync("nightly");
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", T0.AddDays(1).AddHours(3), now: T0.AddHours(3)) with { Cron = "0 3 * * *" });
        var changed = await store.Schedules.GetScheduleAsync("nightly");

        Assert.Equal((T0.AddHours(2), """{"kind":"new"}"""), (kept!.NextFireAt, kept.Input));
        Assert.Equal(T0.AddDays(1).AddHours(3), changed!.NextFireAt);
    }

    [Fact]
    public async Task UpsertScheduleAsync_EnabledAgain_TakesTheNewFireTime()
    {
        var store = await NewStoreAsync();
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", T0.AddHours(2)));
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", null, enabled: false));

        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", T0.AddDays(3).AddHours(2), now: T0.AddDays(3)));

        Assert.Equal(T0.AddDays(3).AddHours(2), (await store.Schedules.GetScheduleAsync("nightly"))!.NextFireAt);
    }

    [Fact]
    public async Task UpsertScheduleAsync_Existing_UpdatesFieldsAndKeepsCreatedAt()
    {
        var store = await NewStoreAsync();
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", T0.AddHours(14)));

        var replaced = await store.Schedules.UpsertScheduleAsync(Schedule("nightly", T0.AddHours(15), enabled: false, now: T0.AddDays(1)) with
        {
            Cron = "0 3 * * *", Misfire = MisfirePolicy.Skip, Input = null,
        });
        var stored = await store.Schedules.GetScheduleAsync("nightly");

        Assert.False(replaced.Created);
        Assert.Equal(stored, replaced.Schedule);
        Assert.NotNull(stored);
        Assert.Equal("0 3 * * *", stored.Cron);
        Assert.False(stored.Enabled);
        Assert.Equal(MisfirePolicy.Skip, stored.Misfire);
        Assert.Null(stored.Input);
        Assert.Equal(T0.AddHours(15), stored.NextFireAt);
        Assert.Equal(T0, stored.CreatedAt);
        Assert.Equal(T0.AddDays(1), stored.UpdatedAt);
        Assert.Single(await store.Schedules.ListSchedulesAsync());
    }

    [Fact]
    public async Task UpsertScheduleAsync_ConcurrentUpsertsOfOneNewName_ExactlyOneReportsCreated()
    {
        // PUT /api/schedules/{name} answers 201 or 200 from this flag. Before, it was read before the upsert, and two creates
        // of one name at once both read "none": both answered 201. Eight new names, sixteen upserts of each, all let go at once.
        var store = await NewStoreAsync();
        var names = Enumerable.Range(0, 8).Select(n => $"nightly-{n}").ToArray();
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var upserts = names.SelectMany(name => Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            await go.Task;
            return await store.Schedules.UpsertScheduleAsync(Schedule(name, T0.AddHours(2)) with { Input = $"{{\"n\":{i}}}" });
        }))).ToList();
        go.SetResult();
        var first = await Task.WhenAll(upserts);
        var again = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ =>
            Task.Run(() => store.Schedules.UpsertScheduleAsync(Schedule(names[0], T0.AddHours(2))))));
        await store.Schedules.DeleteScheduleAsync(names[0]);
        var afterDelete = await store.Schedules.UpsertScheduleAsync(Schedule(names[0], T0.AddHours(2)));

        Assert.All(names, name => Assert.Single(first, r => r.Created && r.Schedule.Name == name));
        Assert.Equal(16 * names.Length, first.Length);
        Assert.DoesNotContain(again, r => r.Created);
        Assert.True(afterDelete.Created);
        Assert.Equal(names, (await store.Schedules.ListSchedulesAsync()).Select(s => s.Name));
    }

    [Fact]
    public async Task ListSchedulesAsync_Several_OrderedByName()
    {
        var store = await NewStoreAsync();
        foreach (var name in new[] { "c", "a", "b" })
        {
            await store.Schedules.UpsertScheduleAsync(Schedule(name));
        }

        var all = await store.Schedules.ListSchedulesAsync();

        Assert.Equal(new[] { "a", "b", "c" }, all.Select(s => s.Name));
    }

    [Fact]
    public async Task DeleteScheduleAsync_ExistingAndUnknown_ReportWhetherDeleted()
    {
        var store = await NewStoreAsync();
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly"));

        var deleted = await store.Schedules.DeleteScheduleAsync("nightly");
        var again = await store.Schedules.DeleteScheduleAsync("nightly");

        Assert.True(deleted);
        Assert.False(again);
        Assert.Null(await store.Schedules.GetScheduleAsync("nightly"));
        Assert.Empty(await store.Schedules.ListSchedulesAsync());
    }

    private static SetScheduleEnabledRequest Toggle(string name, bool enabled, DateTimeOffset? nextFireAt, DateTimeOffset now) => new()
    {
        Name = name, Enabled = enabled, NextFireAt = nextFireAt, Workflow = "report", Cron = "0 2 * * *", TimeZone = "Europe/Berlin", Now = now,
    };

    [Fact]
    public async Task SetScheduleEnabledAsync_AsRead_SetsOnlyTheFlagAndItsFireTime()
    {
        var store = await NewStoreAsync();
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", T0.AddHours(2)));

        var disabled = await store.Schedules.SetScheduleEnabledAsync(Toggle("nightly", false, T0.AddDays(9), T0.AddHours(1)));
        var enabled = await store.Schedules.SetScheduleEnabledAsync(Toggle("nightly", true, T0.AddDays(3).AddHours(2), T0.AddDays(3)));
        var again = await store.Schedules.SetScheduleEnabledAsync(Toggle("nightly", true, T0.AddDays(4).AddHours(2), T0.AddDays(4)));
        var stored = await store.Schedules.GetScheduleAsync("nightly");

        Assert.Equal((false, (DateTimeOffset?)null, T0.AddHours(1)), (disabled!.Enabled, disabled.NextFireAt, disabled.UpdatedAt));
        Assert.Equal((true, (DateTimeOffset?)T0.AddDays(3).AddHours(2)), (enabled!.Enabled, enabled.NextFireAt));
        // Already enabled: its own fire time is kept (it may be due), as a replace with the same cron keeps it.
        Assert.Equal((true, (DateTimeOffset?)T0.AddDays(3).AddHours(2), T0.AddDays(4)), (again!.Enabled, again.NextFireAt, again.UpdatedAt));
        Assert.Equal(again, stored);
        Assert.Equal(("report", "0 2 * * *", "Europe/Berlin", """{"kind":"daily"}""", MisfirePolicy.RunOnce, T0),
            (stored!.Workflow, stored.Cron, stored.TimeZone, stored.Input, stored.Misfire, stored.CreatedAt));
    }

    [Theory]
    [InlineData("deleted")]
    [InlineData("new cron")]
    [InlineData("new time zone")]
    [InlineData("new workflow")]
    public async Task SetScheduleEnabledAsync_DeletedOrReplacedSinceItWasRead_WritesNothing(string change)
    {
        // A dashboard toggle read the schedule, then this was stored before its write. Before (the dashboard wrote the whole
        // schedule back as read): a deleted schedule was created again, a replaced one got its old definition back.
        var store = await NewStoreAsync();
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", T0.AddHours(2)));
        var replaced = change switch
        {
            "new cron" => Schedule("nightly", T0.AddHours(3), now: T0.AddMinutes(1)) with { Cron = "0 3 * * *" },
            "new time zone" => Schedule("nightly", T0.AddHours(1), now: T0.AddMinutes(1)) with { TimeZone = "UTC" },
            "new workflow" => Schedule("nightly", T0.AddHours(2), now: T0.AddMinutes(1)) with { Workflow = "other" },
            _ => null,
        };
        _ = replaced is null ? await store.Schedules.DeleteScheduleAsync("nightly") : (await store.Schedules.UpsertScheduleAsync(replaced)).Schedule.Enabled;
        var before = await store.Schedules.GetScheduleAsync("nightly");

        var written = await store.Schedules.SetScheduleEnabledAsync(Toggle("nightly", false, null, T0.AddMinutes(2)));
        var enabledWritten = await store.Schedules.SetScheduleEnabledAsync(Toggle("nightly", true, T0.AddDays(1), T0.AddMinutes(2)));

        Assert.Null(written);
        Assert.Null(enabledWritten);
        Assert.Equal(before, await store.Schedules.GetScheduleAsync("nightly"));
        Assert.Equal(replaced is null ? 0 : 1, (await store.Schedules.ListSchedulesAsync()).Count);
    }

    [Fact]
    public async Task GetDueSchedulesAsync_Mixed_ReturnsEnabledDueOnly()
    {
        var store = await NewStoreAsync();
        await store.Schedules.UpsertScheduleAsync(Schedule("due-early", T0.AddMinutes(-5)));
        await store.Schedules.UpsertScheduleAsync(Schedule("due-now", T0));
        await store.Schedules.UpsertScheduleAsync(Schedule("future", T0.AddMinutes(1)));
        await store.Schedules.UpsertScheduleAsync(Schedule("disabled", T0.AddMinutes(-5), enabled: false));
        await store.Schedules.UpsertScheduleAsync(Schedule("no-next"));

        var due = await store.Schedules.GetDueSchedulesAsync(new DueSchedulesRequest(T0, 10));
        var limited = await store.Schedules.GetDueSchedulesAsync(new DueSchedulesRequest(T0, 1));

        Assert.Equal(new[] { "due-early", "due-now" }, due.Select(s => s.Name).Order());
        Assert.Single(limited);
    }

    [Fact]
    public async Task GetDueSchedulesAsync_WorkflowFilter_ReturnsOnlyThoseWorkflowsSchedules()
    {
        var store = await NewStoreAsync();
        await store.Schedules.UpsertScheduleAsync(Schedule("mine", T0) with { Workflow = "here" });
        await store.Schedules.UpsertScheduleAsync(Schedule("other-early", T0.AddMinutes(-5)) with { Workflow = "elsewhere" });
        await store.Schedules.UpsertScheduleAsync(Schedule("also-mine", T0.AddMinutes(-1)) with { Workflow = "also-here" });

        var filtered = await store.Schedules.GetDueSchedulesAsync(new DueSchedulesRequest(T0, 1) { Workflows = ["here", "also-here"] });
        var both = await store.Schedules.GetDueSchedulesAsync(new DueSchedulesRequest(T0, 10) { Workflows = ["here", "also-here"] });
        var none = await store.Schedules.GetDueSchedulesAsync(new DueSchedulesRequest(T0, 10) { Workflows = [] });

        // The earlier due schedule of another workflow does not take the one place.
        Assert.Equal("also-mine", Assert.Single(filtered).Name);
        Assert.Equal(new[] { "also-mine", "mine" }, both.Select(s => s.Name).Order());
        Assert.Empty(none);
    }

    [Fact]
    public async Task FireScheduleAsync_FirstFire_CreatesRunAndAdvancesSchedule()
    {
        var store = await NewStoreAsync();
        var fireTime = T0.AddHours(1);
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", fireTime));

        var result = await store.Schedules.FireScheduleAsync(Fire("nightly", fireTime, fireTime, fireTime.AddDays(1)));
        var schedule = await store.Schedules.GetScheduleAsync("nightly");

        Assert.True(result.Fired);
        Assert.Equal(CreateRunOutcome.Created, result.Run?.Outcome);
        var run = await GetAsync(store, result.Run!.Run.Id);
        Assert.Equal(("nightly", fireTime, RunStatus.Pending), (run.ScheduleName, run.ScheduledFireTime, run.Status));
        Assert.Equal(fireTime.AddDays(1), schedule!.NextFireAt);
        Assert.Equal(fireTime, schedule.LastFireAt);
        Assert.Equal(run.Id, schedule.LastRunId);
        Assert.Empty(await store.Schedules.GetDueSchedulesAsync(new DueSchedulesRequest(fireTime.AddHours(1), 10)));
    }

    [Theory]
    [InlineData("disabled")]
    [InlineData("deleted")]
    [InlineData("moved on")]
    public async Task FireScheduleAsync_ScheduleChangedSinceItWasRead_FiresNothing(string change)
    {
        // The scheduler read the schedule due at fireTime; the change was stored before its fire. Before: the fire was
        // recorded and its run created from the old definition after the change had returned.
        var store = await NewStoreAsync();
        var fireTime = T0.AddHours(1);
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", fireTime));
        switch (change)
        {
            case "disabled":
                await store.Schedules.UpsertScheduleAsync(Schedule("nightly", fireTime, enabled: false));
                break;
            case "deleted":
                await store.Schedules.DeleteScheduleAsync("nightly");
                break;
            default:
                // A new cron: the stored next fire time moves with it.
                await store.Schedules.UpsertScheduleAsync(Schedule("nightly", fireTime.AddHours(5)) with { Cron = "0 7 * * *" });
                break;
        }

        var result = await store.Schedules.FireScheduleAsync(Fire("nightly", fireTime, fireTime, fireTime.AddDays(1)));

        Assert.Equal((false, null), (result.Fired, result.Run));
        Assert.Empty((await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
        var schedule = await store.Schedules.GetScheduleAsync("nightly");
        Assert.Equal(change == "deleted" ? null : change == "disabled" ? fireTime : fireTime.AddHours(5), schedule?.NextFireAt);
        Assert.Null(schedule?.LastFireAt);
    }

    [Fact]
    public async Task FireScheduleAsync_InputEditedSinceItWasRead_FiresNothingFromTheOldInput()
    {
        // The same cron and zone keep the due fire time, so only the content tells the edit (before: the old input fired).
        var store = await NewStoreAsync();
        var fireTime = T0.AddHours(1);
        var read = (await store.Schedules.UpsertScheduleAsync(Schedule("nightly", fireTime))).Schedule;
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", fireTime) with { Input = """{"kind":"weekly"}""" });

        var stale = await store.Schedules.FireScheduleAsync(Fire("nightly", fireTime, fireTime, fireTime.AddDays(1)) with { ReadAs = new ScheduleContent(read.Workflow, read.Input) });
        var current = await store.Schedules.FireScheduleAsync(Fire("nightly", fireTime, fireTime, fireTime.AddDays(1)) with { ReadAs = new ScheduleContent("report", """{"kind":"weekly"}""") });

        Assert.Equal((false, null), (stale.Fired, stale.Run));
        Assert.True(current.Fired);
        Assert.Single((await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
    }

    [Fact]
    public async Task FireScheduleAsync_SameFireTimeTwice_SecondCreatesNothing()
    {
        var store = await NewStoreAsync();
        var fireTime = T0.AddHours(1);
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", fireTime));
        var first = await store.Schedules.FireScheduleAsync(Fire("nightly", fireTime, fireTime, fireTime.AddDays(1)));

        var second = await store.Schedules.FireScheduleAsync(Fire("nightly", fireTime, fireTime, fireTime.AddDays(2)));

        Assert.True(first.Fired);
        Assert.False(second.Fired);
        Assert.Null(second.Run);
        Assert.Single((await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
        Assert.Equal(fireTime.AddDays(1), (await store.Schedules.GetScheduleAsync("nightly"))!.NextFireAt);
    }

    [Fact]
    public async Task FireScheduleAsync_NextFireTimeOneAlreadyFired_MovesItOnWithoutARun()
    {
        // A node whose clock is behind another's re-enabled the schedule with a next fire time that node had already fired.
        // Before: every tick found the fire recorded and left the next fire time where it was, so the schedule never fired
        // again (until its fire records were pruned, 30 days by default).
        var store = await NewStoreAsync();
        var fireTime = T0.AddHours(1);
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", fireTime));
        Assert.True((await store.Schedules.FireScheduleAsync(Fire("nightly", fireTime, fireTime, fireTime.AddDays(1)))).Fired);
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", fireTime.AddDays(1), enabled: false, now: fireTime.AddSeconds(2)));
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", fireTime, now: fireTime.AddSeconds(3)));
        Assert.Equal(fireTime, (await store.Schedules.GetScheduleAsync("nightly"))!.NextFireAt);

        var again = await store.Schedules.FireScheduleAsync(Fire("nightly", fireTime, fireTime, fireTime.AddDays(1)));
        var schedule = await store.Schedules.GetScheduleAsync("nightly");
        var next = await store.Schedules.FireScheduleAsync(Fire("nightly", fireTime.AddDays(1), fireTime.AddDays(1), fireTime.AddDays(2)));

        Assert.False(again.Fired);
        Assert.Null(again.Run);
        Assert.Equal(fireTime.AddDays(1), schedule!.NextFireAt);
        Assert.Equal(fireTime, schedule.LastFireAt);
        Assert.True(next.Fired);
        Assert.Equal(2, (await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs.Count);
    }

    [Fact]
    public async Task FireScheduleAsync_ConcurrentSameFireTime_ExactlyOneFiresAndOneRun()
    {
        var store = await NewStoreAsync();
        var fireTime = T0.AddHours(1);
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", fireTime));

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ =>
            Task.Run(() => store.Schedules.FireScheduleAsync(Fire("nightly", fireTime, fireTime, fireTime.AddDays(1))))));

        var fired = Assert.Single(results, r => r.Fired);
        var run = Assert.Single((await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
        Assert.Equal(fired.Run!.Run.Id, run.Id);
        Assert.All(results.Where(r => !r.Fired), r => Assert.Null(r.Run));
    }

    [Fact]
    public async Task FireScheduleAsync_ExpectedNextFireMismatch_FiresNothingAndKeepsNextFireAt()
    {
        // The schedule is not due at the fire time asked for (it moved on since it was read): nothing fires from the old read.
        var store = await NewStoreAsync();
        var fireTime = T0.AddHours(1);
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", fireTime.AddMinutes(30)));

        var result = await store.Schedules.FireScheduleAsync(Fire("nightly", fireTime, fireTime, fireTime.AddDays(1)));
        var schedule = await store.Schedules.GetScheduleAsync("nightly");

        Assert.False(result.Fired);
        Assert.Empty((await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
        Assert.Equal(fireTime.AddMinutes(30), schedule!.NextFireAt);
        Assert.Null(schedule.LastFireAt);
    }

    [Fact]
    public async Task FireScheduleAsync_NullExpectedNextFire_MatchesNullAndSetsNext()
    {
        var store = await NewStoreAsync();
        await store.Schedules.UpsertScheduleAsync(Schedule("manual"));

        await store.Schedules.FireScheduleAsync(Fire("manual", T0, expected: null, next: T0.AddDays(1)));

        Assert.Equal(T0.AddDays(1), (await store.Schedules.GetScheduleAsync("manual"))!.NextFireAt);
    }

    [Fact]
    public async Task FireScheduleAsync_SkippedFire_RecordsFireWithoutRun()
    {
        var store = await NewStoreAsync();
        var fireTime = T0.AddHours(1);
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", fireTime));

        var skipped = await store.Schedules.FireScheduleAsync(
            Fire("nightly", fireTime, fireTime, fireTime.AddDays(1)) with { Run = null });
        var again = await store.Schedules.FireScheduleAsync(Fire("nightly", fireTime, fireTime.AddDays(1), fireTime.AddDays(2)));
        var schedule = await store.Schedules.GetScheduleAsync("nightly");

        Assert.True(skipped.Fired);
        Assert.Null(skipped.Run);
        Assert.False(again.Fired);
        Assert.Empty((await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
        Assert.Equal(fireTime, schedule!.LastFireAt);
        Assert.Null(schedule.LastRunId);
        Assert.Equal(fireTime.AddDays(1), schedule.NextFireAt);
    }
}
