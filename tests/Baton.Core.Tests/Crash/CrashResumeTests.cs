using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Baton.CrashHost;
using Baton.Hosting;
using Baton.Retries;
using Baton.Runs;
using Baton.Storage;
using Baton.Storage.Sqlite;
using Baton.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Baton.Core.Tests.Crash;

/// <summary>
/// Runs a real Baton node process, SIGKILLs it mid-run, starts a new one on the same database and checks
/// that the run completes, that no step completed before the kill ran again, that no step was lost, that
/// the new process resumed the run within <see cref="ResumeBound"/> of being ready although the killed
/// one's lease (the default 30 s) had not expired, and that the attempt the kill cut off is shown interrupted.
/// </summary>
public sealed class CrashResumeTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan ResumeBound = TimeSpan.FromSeconds(2);

    private readonly string _dir = Directory.CreateTempSubdirectory("baton-crash-").FullName;

    private string Db => Path.Combine(_dir, "baton.db");

    private string Effects => Path.Combine(_dir, "effects.db");

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(7)]
    public async Task Sequential_KilledAfterNSteps_ResumesWithoutRepeatingCompletedSteps(int killAfter)
    {
        // Step killAfter + 1 holds in the first process, so the kill lands after exactly killAfter steps however slowly this polls.
        var (runId, completedAtKill) = await RunAndKillAsync(
            "sequential", steps => steps.Count(s => s.Kind == StepKind.Step && s.Status == StepStatus.Succeeded) >= killAfter, holdAfter: killAfter);

        var run = await RestartAndFinishAsync("sequential", runId);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(Enumerable.Range(1, killAfter).Select(i => $"step-{i}"), completedAtKill.Order(StringComparer.Ordinal));
        AssertExactlyOnce(completedAtKill);
        AssertAllDone(Enumerable.Range(1, 8).Select(i => $"step-{i}"));
    }

    [Fact]
    public async Task FanOut_KilledMidway_ResumesWithoutRepeatingCompletedItems()
    {
        // Item starts after the 20th hold in the first process: at most 20 items are done at the kill, however slowly this polls.
        var (runId, completedAtKill) = await RunAndKillAsync("fanout", steps => steps.Count(s => s.Status == StepStatus.Succeeded) >= 15, holdAfter: 20);

        var run = await RestartAndFinishAsync("fanout", runId);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal("40", run.Output);
        Assert.InRange(completedAtKill.Count, 15, 20);
        AssertExactlyOnce(completedAtKill);
        AssertAllDone(Enumerable.Range(1, 40).Select(i => $"item/{i}"));
    }

    [Fact]
    public async Task Saga_KilledMidCompensation_ResumesCompensating()
    {
        // s1-s4 and undo-s4 run in the first process; undo-s3 holds, so the kill lands mid-compensation however slowly this polls.
        var (runId, completedAtKill) = await RunAndKillAsync(
            "saga", steps => steps.Any(s => s.Kind == StepKind.Compensation && s.Status == StepStatus.Succeeded), holdAfter: 5);

        var run = await RestartAndFinishAsync("saga", runId);

        Assert.Equal(RunStatus.Compensated, run.Status);
        Assert.Equal("s5", run.Failure!.Step);
        Assert.Equal("compensated", run.Failure.SagaState);
        AssertExactlyOnce(completedAtKill);
        AssertAllDone(["s1", "s2", "s3", "s4", "undo-s4", "undo-s3", "undo-s2", "undo-s1"]);
        var log = new EffectLog(Effects);
        Assert.Equal(4, log.Count("start").Keys.Count(k => k.StartsWith("undo-", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("timer")]
    [InlineData("timer-suspended")]
    public async Task Timer_KilledWhileSleeping_WakesAtStoredTimeAndRunsNextStepOnce(string scenario)
    {
        var (runId, completedAtKill) = await RunAndKillAsync(scenario, steps => steps.Any(s => s.Kind == StepKind.Timer && s.Status == StepStatus.Succeeded));
        var startsAtKill = new EffectLog(Effects).Count("start");
        var wakeAtKill = await StoredWakeAtAsync(runId);

        var run = await RestartAndFinishAsync(scenario, runId);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.False(startsAtKill.ContainsKey("after"), "the kill came after the timer had fired");
        AssertExactlyOnce([.. completedAtKill.Where(k => k != "wait")]);
        Assert.Equal(1, new EffectLog(Effects).Count("start")["after"]);
        AssertAllDone(["before", "after"]);
        Assert.Equal(wakeAtKill, await StoredWakeAtAsync(runId));
        await using var store = OpenStore();
        var after = Assert.Single(await store.Store.Steps.GetAttemptsAsync(runId), a => a.StepKey == "after");
        // Task.Delay counts whole milliseconds on the monotonic clock while the wake-up time is wall-clock time, so an
        // in-memory wait may end a hair early; a timer that was skipped on resume would end seconds early.
        Assert.True(after.StartedAt >= wakeAtKill - TimeSpan.FromMilliseconds(20), $"the step after the timer started at {after.StartedAt:O}, before the wake-up time {wakeAtKill:O}");
    }

    [Fact]
    public async Task RetryWait_KilledWhileBackingOff_NextAttemptAtStoredDueTimeAndNoAttemptRepeated()
    {
        var (runId, completedAtKill) = await RunAndKillAsync("retry-suspended", steps => steps.Any(s => s.Key == "flaky" && s.Error is not null));
        var startsAtKill = new EffectLog(Effects).Count("start");
        var atKill = await GetRunAsync(runId);
        DateTimeOffset dueAt;
        await using (var store = OpenStore())
        {
            var failed = Assert.Single(await store.Store.Steps.GetAttemptsAsync(runId), a => a.StepKey == "flaky");
            dueAt = failed.EndedAt!.Value + RetryWaitWorkflow.Policy.NextDelay(1, new HashedJitter().Draw(runId, "flaky", 1));
        }

        var run = await RestartAndFinishAsync("retry-suspended", runId);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(1, startsAtKill["flaky"]);
        Assert.Equal(["before"], completedAtKill);
        Assert.True(atKill.Status != RunStatus.Suspended || atKill.RunAfter == dueAt, $"suspended until {atKill.RunAfter:O}, not the due time {dueAt:O}");
        AssertExactlyOnce(["before", "after"]);
        Assert.Equal(2, new EffectLog(Effects).Count("start")["flaky"]);
        AssertAllDone(["before", "flaky-done", "after"]);
        await using var reader = OpenStore();
        var attempts = (await reader.Store.Steps.GetAttemptsAsync(runId)).Where(a => a.StepKey == "flaky").OrderBy(a => a.Attempt).ToList();
        Assert.Equal([1, 2], attempts.Select(a => a.Attempt));
        Assert.Equal([AttemptOutcome.Failed, AttemptOutcome.Succeeded], attempts.Select(a => a.Outcome));
        // A suspended run is claimed only once its due time passed; a run resumed while still leased waits the rest in
        // memory, where Task.Delay counts whole milliseconds on the monotonic clock (see the timer test above).
        Assert.True(attempts[1].StartedAt >= dueAt - TimeSpan.FromMilliseconds(20), $"attempt 2 started at {attempts[1].StartedAt:O}, before its due time {dueAt:O}");
    }

    [Fact]
    public async Task EventWait_KilledWhileWaiting_EventSentAfterRestartResumesRunAndFirstStepRanOnce()
    {
        var (runId, completedAtKill) = await RunAndKillAsync("event", steps => steps.Any(s => s.Kind == StepKind.Event));

        var run = await RestartAndFinishAsync("event", runId, "--send-event", "approved", "--payload", "ann");

        Assert.Equal(RunStatus.Succeeded, run.Status);
        AssertExactlyOnce(completedAtKill);
        Assert.Equal(["before"], completedAtKill);
        AssertAllDone(["before", "after-ann"]);
        Assert.Equal(1, new EffectLog(Effects).Count("start")["after-ann"]);
    }

    [Fact]
    public async Task EventTimeout_KilledAfterTheTimeoutBeforeTheNextStepWasStored_ResumedRunTakesTheTimeoutBranchAgain()
    {
        // Before: the engine inferred "the workflow went on" from a later step's record, which was not stored yet; the
        // resumed run waited again, took the event sent after the restart and ran the other branch.
        var (runId, completedAtKill) = await RunAndKillAsync(
            "event-timeout", steps => steps.Any(s => s.Kind == StepKind.Event && s.Status == StepStatus.Failed), holdAfter: 1);

        var run = await RestartAndFinishAsync("event-timeout", runId, "--send-event", "approved", "--payload", "late");

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal("\"timeout\"", run.Output);
        Assert.Equal(["before"], completedAtKill);
        AssertExactlyOnce(completedAtKill);
        AssertAllDone(["before", "after-timeout"]);
        Assert.False(new EffectLog(Effects).Count("start").ContainsKey("after-late"));
        await using var store = OpenStore();
        var wait = (await store.Store.Steps.GetStepsAsync(runId)).Single(s => s.Kind == StepKind.Event);
        Assert.Equal((StepStatus.Failed, 1), (wait.Status, wait.Attempts));
    }

    [Fact]
    public async Task ChildRun_KilledWhileParentWaits_ChildEndAfterRestartResumesParentAndChildStartedOnce()
    {
        var (runId, completedAtKill) = await RunAndKillAsync("child", steps => steps.Any(s => s.Kind == StepKind.Child));

        var run = await RestartAndFinishAsync("child", runId, "--child-event", "approved", "--payload", "ann");

        Assert.Equal(RunStatus.Succeeded, run.Status);
        AssertExactlyOnce(completedAtKill);
        Assert.Equal(["before"], completedAtKill);
        AssertAllDone(["before", "after-ann"]);
        await using var store = OpenStore();
        var children = (await store.Store.Runs.ListRunsAsync(new ListRunsRequest { Workflow = "child-waits" })).Runs;
        Assert.Equal((runId, RunStatus.Succeeded), (Assert.Single(children).ParentRunId, children[0].Status));
    }

    [Fact]
    public async Task HeldStepEnd_KilledAfterBodyBeforeRunEnd_StepNotStoredAndRunAgain()
    {
        // The step's body ends, then the workflow's own code holds (past --hold-after 1) before the run's final write,
        // which would store the step's end with the run's.
        Dictionary<string, int> reached;
        await using (var process = StartHost("held-end", "node-1", "--hold-after", "1"))
        {
            var runId = await ReadRunIdAsync(process);
            var watch = Stopwatch.StartNew();
            while (!(reached = new EffectLog(Effects).Count("reached")).ContainsKey("after-only"))
            {
                Assert.False(process.HasExited, "the host exited before the kill point");
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), "the kill point was not reached in 60 s");
                await Task.Delay(20);
            }

            await using (var store = OpenStore())
            {
                Assert.DoesNotContain(await store.Store.Steps.GetStepsAsync(runId), s => s.Status == StepStatus.Succeeded);
            }

            process.Kill();
            var run = await RestartAndFinishAsync("held-end", runId);

            Assert.Equal((RunStatus.Succeeded, "4"), (run.Status, run.Output));
        }

        var starts = new EffectLog(Effects).Count("start");
        var done = new EffectLog(Effects).Count("done");
        Assert.Equal(1, reached["after-only"]);
        Assert.Equal((2, 2), (starts["only"], done["only"]));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Steps stored as completed at the kill ran exactly once in all (the side table counts starts).</summary>
    private void AssertExactlyOnce(IReadOnlyCollection<string> completedAtKill)
    {
        var starts = new EffectLog(Effects).Count("start");
        Assert.NotEmpty(completedAtKill);
        foreach (var key in completedAtKill)
        {
            var effect = key.StartsWith(StepKeys.CompensationPrefix, StringComparison.Ordinal) ? "undo-" + StepKeys.CompensatedStep(key) : key;
            Assert.True(starts.TryGetValue(effect, out var count) && count == 1, $"{effect} completed before the kill but started {count} times");
        }
    }

    private void AssertAllDone(IEnumerable<string> expected)
    {
        var done = new EffectLog(Effects).Count("done");
        foreach (var step in expected)
        {
            Assert.True(done.ContainsKey(step), $"{step} never completed");
        }
    }

    private async Task<(string RunId, IReadOnlyCollection<string> CompletedAtKill)> RunAndKillAsync(
        string scenario, Func<IReadOnlyList<StepRecord>, bool> killWhen, int? holdAfter = null)
    {
        await using var process = holdAfter is { } n
            ? StartHost(scenario, "node-1", "--hold-after", n.ToString(CultureInfo.InvariantCulture))
            : StartHost(scenario, "node-1");
        var runId = await ReadRunIdAsync(process);
        await using var store = OpenStore();
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var steps = await store.Store.Steps.GetStepsAsync(runId);
            if (killWhen(steps))
            {
                break;
            }

            Assert.False(process.HasExited, "the host exited before the kill point");
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), "the kill point was not reached in 60 s");
            await Task.Delay(20);
        }

        process.Kill();
        var completed = (await store.Store.Steps.GetStepsAsync(runId)).Where(s => s.Status == StepStatus.Succeeded).Select(s => s.Key).ToList();
        return (runId, completed);
    }

    private async Task<RunRecord> RestartAndFinishAsync(string scenario, string runId, params string[] hostArguments)
    {
        // A run suspended on a long timer held no lease at the kill: it resumes when the timer is due, not at restart.
        var atKill = await GetRunAsync(runId);
        var leasedAtKill = atKill.LeaseOwner is not null;
        await using var process = StartHost(scenario, "node-2", hostArguments);
        Assert.Equal(runId, await ReadRunIdAsync(process));
        var ready = Stopwatch.StartNew();
        TimeSpan? resumedAfter = null;
        await using var store = OpenStore();
        var watch = Stopwatch.StartNew();
        try
        {
            while (true)
            {
                var run = await store.Store.Runs.GetRunAsync(runId);
                if (resumedAfter is null && run!.Executions > atKill.Executions)
                {
                    resumedAfter = ready.Elapsed;
                    output.WriteLine($"{scenario}: resumed {resumedAfter.Value.TotalMilliseconds:F0} ms after the restarted process was ready (leased at the kill: {leasedAtKill})");
                    Assert.True(!leasedAtKill || resumedAfter < ResumeBound, $"the run resumed {resumedAfter} after the restart, not within {ResumeBound}");
                }

                if (run!.Status.IsTerminal())
                {
                    // A run whose last step ended between the kill point and the kill has nothing to resume.
                    Assert.True(resumedAfter is not null || atKill.Status.IsTerminal(), "the run finished without being resumed");
                    await AssertNoAttemptLeftRunningAsync(store.Store, runId);
                    return run;
                }

                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"run still {run.Status} 60 s after restart");
                await Task.Delay(50);
            }
        }
        finally
        {
            process.Kill();
        }
    }

    private async Task<RunRecord> GetRunAsync(string runId)
    {
        await using var store = OpenStore();
        return (await store.Store.Runs.GetRunAsync(runId))!;
    }

    /// <summary>An attempt the kill cut off is closed as interrupted, with an end time, once the run resumed.</summary>
    private static async Task AssertNoAttemptLeftRunningAsync(IBatonStore store, string runId)
    {
        var attempts = await store.Steps.GetAttemptsAsync(runId);
        Assert.All(attempts, a => Assert.True(
            a.Outcome != AttemptOutcome.Running && a.EndedAt is not null,
            $"attempt {a.StepKey}#{a.Attempt} is {a.Outcome} with end {a.EndedAt?.ToString("O") ?? "none"} in a finished run"));
    }

    private ChildProcess StartHost(string scenario, string node, params string[] hostArguments)
    {
        var hostDll = Path.Combine(AppContext.BaseDirectory.Replace("Baton.Core.Tests", "Baton.CrashHost", StringComparison.Ordinal), "Baton.CrashHost.dll");
        Assert.True(File.Exists(hostDll), $"crash host not built at {hostDll}");
        return ChildProcess.Start(hostDll, ["--db", Db, "--effects", Effects, "--scenario", scenario, "--node", node, .. hostArguments], []);
    }

    private static async Task<string> ReadRunIdAsync(ChildProcess process) =>
        (await process.WaitForLineAsync(line => line.StartsWith("RUN ", StringComparison.Ordinal), "the host to print its run id"))[4..];

    private async Task<DateTimeOffset> StoredWakeAtAsync(string runId)
    {
        await using var store = OpenStore();
        var timer = Assert.Single(await store.Store.Steps.GetStepsAsync(runId), s => s.Kind == StepKind.Timer);
        return DateTimeOffset.Parse(JsonSerializer.Deserialize<string>(timer.Result!)!, CultureInfo.InvariantCulture);
    }

    private StoreHandle OpenStore()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        // Read-only: the node process owns the database while it runs.
        services.AddBaton().UseSqlite(o => { o.Path = Db; o.ReadOnly = true; });
        return new StoreHandle(services.BuildServiceProvider());
    }

    private sealed class StoreHandle(ServiceProvider services) : IAsyncDisposable
    {
        public IBatonStore Store { get; } = services.GetRequiredService<IBatonStore>();

        public ValueTask DisposeAsync() => services.DisposeAsync();
    }
}
