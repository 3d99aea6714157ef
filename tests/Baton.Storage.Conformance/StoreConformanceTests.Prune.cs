using Baton.Runs;
using Baton.Storage;

namespace Baton.Storage.Conformance;

public abstract partial class StoreConformanceTests
{
    /// <summary>A run created at <paramref name="created"/> (its UUIDv7 id says so), finished with a step at <paramref name="completed"/>.</summary>
    private static async Task<RunRecord> FinishedRunAsync(IBatonStore store, DateTimeOffset created, DateTimeOffset completed, RunStatus status = RunStatus.Succeeded)
    {
        var run = await CreateAsync(store, NewRun(now: created) with { Id = Guid.CreateVersion7(created).ToString("N") });
        Assert.Contains(await ClaimAsync(store, "node-a", created), r => r.Id == run.Id);
        Assert.True(await store.Steps.RecordAttemptEndedAsync(Ended(run.Id, "fetch", 1, created, completed) with { StepStatus = StepStatus.Succeeded, Result = "1" }));
        await FinishAsync(store, run.Id, "node-a", status, completed);
        return run;
    }

    private static PruneRunsRequest PruneBefore(DateTimeOffset cutoff, int max = 100) => new()
    {
        IdsBelow = cutoff.ToUnixTimeMilliseconds().ToString("x12", System.Globalization.CultureInfo.InvariantCulture) + new string('0', 20),
        CompletedBefore = cutoff,
        MaxRuns = max,
    };

    [Fact]
    public async Task PruneRunsAsync_FinishedBeforeCutoff_DeletesRunStepsAndAttempts()
    {
        var store = await NewStoreAsync();
        var old = await FinishedRunAsync(store, T0, T0.AddMinutes(1));
        var failed = await FinishedRunAsync(store, T0.AddMinutes(2), T0.AddMinutes(3), RunStatus.Failed);

        var deleted = await store.Runs.PruneRunsAsync(PruneBefore(T0.AddDays(1)));

        Assert.Equal(2, deleted);
        Assert.Null(await store.Runs.GetRunAsync(old.Id));
        Assert.Null(await store.Runs.GetRunAsync(failed.Id));
        Assert.Empty(await store.Steps.GetStepsAsync(old.Id));
        Assert.Empty(await store.Steps.GetAttemptsAsync(old.Id));
    }

    [Fact]
    public async Task PruneRunsAsync_FinishedChild_IsKeptWhileItsParentIsAndGoesTheRoundAfterIt()
    {
        // A finished child is the only record of its output until its parent's step takes it. Before (a review): it was pruned
        // under a parent still waiting for it, and the parent, resumed, found no child and started another.
        var store = await NewStoreAsync();
        var parent = await CreateAsync(store, NewRun("parent") with { RunAfter = T0.AddYears(1) });
        var child = await CreateAsync(store, NewRun("child") with { Id = Guid.CreateVersion7(T0).ToString("N"), ParentRunId = parent.Id });
        Assert.Contains(await ClaimAsync(store, "node-a", T0), r => r.Id == child.Id);
        await FinishAsync(store, child.Id, "node-a", RunStatus.Succeeded, T0.AddMinutes(1));

        var underActiveParent = await store.Runs.PruneRunsAsync(PruneBefore(T0.AddDays(1)));
        Assert.Contains(await ClaimAsync(store, "node-a", T0.AddYears(1)), r => r.Id == parent.Id);
        await FinishAsync(store, parent.Id, "node-a", RunStatus.Succeeded, T0.AddYears(1));
        var withParent = await store.Runs.PruneRunsAsync(PruneBefore(T0.AddYears(2)));
        var parentGone = await store.Runs.PruneRunsAsync(PruneBefore(T0.AddYears(2)));

        Assert.Equal((0, 1, 1), (underActiveParent, withParent, parentGone));
        Assert.Null(await store.Runs.GetRunAsync(parent.Id));
        Assert.Null(await store.Runs.GetRunAsync(child.Id));
    }

    [Fact]
    public async Task PruneRunsAsync_RecentOrActiveRuns_AreKept()
    {
        var store = await NewStoreAsync();
        var cutoff = T0.AddDays(1);
        // Created long before the cutoff but finished after it: kept until it is old itself.
        var lateFinisher = await FinishedRunAsync(store, T0, cutoff.AddMinutes(5));
        var recent = await FinishedRunAsync(store, cutoff.AddMinutes(1), cutoff.AddMinutes(2));
        var pending = await CreateAsync(store, NewRun(now: T0) with { Id = Guid.CreateVersion7(T0).ToString("N"), RunAfter = T0.AddYears(1) });
        var running = await CreateAsync(store, NewRun(now: T0) with { Id = Guid.CreateVersion7(T0).ToString("N") });
        Assert.Contains(await ClaimAsync(store, "node-b", T0), r => r.Id == running.Id);

        var deleted = await store.Runs.PruneRunsAsync(PruneBefore(cutoff));

        Assert.Equal(0, deleted);
        foreach (var run in new[] { lateFinisher, recent, pending, running })
        {
            Assert.NotNull(await store.Runs.GetRunAsync(run.Id));
        }

        Assert.Single(await store.Steps.GetStepsAsync(lateFinisher.Id));
    }

    [Fact]
    public async Task PruneRunsAsync_MoreThanMax_DeletesOldestFirstInBatches()
    {
        var store = await NewStoreAsync();
        var runs = new List<RunRecord>();
        for (var i = 0; i < 5; i++)
        {
            runs.Add(await FinishedRunAsync(store, T0.AddMinutes(i), T0.AddMinutes(i).AddSeconds(30)));
        }

        var first = await store.Runs.PruneRunsAsync(PruneBefore(T0.AddDays(1), max: 3));
        var afterFirst = await Task.WhenAll(runs.Select(r => store.Runs.GetRunAsync(r.Id)));
        var second = await store.Runs.PruneRunsAsync(PruneBefore(T0.AddDays(1), max: 3));
        var third = await store.Runs.PruneRunsAsync(PruneBefore(T0.AddDays(1), max: 3));

        Assert.Equal((3, 2, 0), (first, second, third));
        Assert.Equal([null, null, null], afterFirst.Take(3));
        Assert.All(afterFirst.Skip(3), r => Assert.NotNull(r));
    }

    [Fact]
    public async Task PruneFiresAsync_OldFires_DeletedRecentKept()
    {
        var store = await NewStoreAsync();
        await store.Schedules.UpsertScheduleAsync(Schedule("nightly", T0));
        Assert.True((await store.Schedules.FireScheduleAsync(Fire("nightly", T0, T0, T0.AddDays(1)))).Fired);
        Assert.True((await store.Schedules.FireScheduleAsync(Fire("nightly", T0.AddDays(1), T0.AddDays(1), T0.AddDays(2)))).Fired);

        var deleted = await store.Schedules.PruneFiresAsync(new PruneFiresRequest { FiredBefore = T0.AddHours(12) });
        var again = await store.Schedules.PruneFiresAsync(new PruneFiresRequest { FiredBefore = T0.AddHours(12) });
        // The recent fire is still recorded: firing it again is refused.
        var refire = await store.Schedules.FireScheduleAsync(Fire("nightly", T0.AddDays(1), T0.AddDays(2), T0.AddDays(2)) with { Run = null });

        Assert.Equal(1, deleted);
        Assert.Equal(0, again);
        Assert.False(refire.Fired);
    }
}
