using System.Collections.Concurrent;
using Baton.Core.Tests.Support;
using Baton.Events;
using Baton.Hosting;
using Baton.Runs;
using Baton.Steps;
using Baton.Storage;
using Baton.Workflows;

namespace Baton.Core.Tests.Versioning;

/// <summary>
/// Workflow versions and patches across deploys. A deploy is simulated by stopping a node while its run is suspended on a
/// durable timer and starting a node with other code on the same database, its clock at the wake-up time, so the new
/// node's first claim takes the run (or, for a version it cannot run, leaves it).
/// </summary>
public sealed class WorkflowVersioningTests
{
    private static readonly DateTimeOffset Start = EngineHarness.Start;
    private static readonly DateTimeOffset FirstWake = Start.AddHours(1);
    private static readonly DateTimeOffset SecondWake = Start.AddHours(2);
    private static readonly TimeSpan Millisecond = TimeSpan.FromMilliseconds(1);

    [Fact]
    public async Task StartRunAsync_WorkflowVersion2_RunRecordsVersion2()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("wf", (_, i, _) => Task.FromResult(i), o => o.Version = 2));

        var id = await node.StartRunAsync("wf", 1);
        await node.WaitForEndAsync(id);

        Assert.Equal(2, (await node.Store.Runs.GetRunAsync(id))!.WorkflowVersion);
        Assert.Equal(2, (await node.Client.GetRunAsync(id))!.Run.WorkflowVersion);
    }

    [Theory]
    [InlineData(0, new int[0])]
    [InlineData(2, new[] { 2 })]
    [InlineData(2, new[] { 0 })]
    [InlineData(2, new[] { 3 })]
    public async Task AddWorkflow_InvalidVersionOrResumedVersion_ThrowsClearError(int version, int[] resumes)
    {
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("wf", (_, i, _) => Task.FromResult(i), o => { o.Version = version; o.ResumesVersions = resumes; })));

        Assert.Contains("workflow 'wf'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClaimRuns_V1RunAndNodeWithOnlyV2_LeavesRunUntilV2DeclaresItResumesV1()
    {
        var path = EngineHarness.NewDatabasePath();
        var seen = new ConcurrentQueue<bool>();
        var id = await SuspendOnV1Async(path);

        var clock = new ExactClock(FirstWake);
        await using (var v2Only = await StartV2Async(path, clock, seen, resumesV1: false))
        {
            // The poll after the first claim pass is armed one millisecond on: that pass has looked at the due run.
            await clock.WaitForTimerAsync(FirstWake + Millisecond);
            var left = (await v2Only.Store.Runs.GetRunAsync(id))!;

            Assert.Equal((RunStatus.Suspended, 1, null), (left.Status, left.Executions, left.LeaseOwner));
        }

        await using (var resumesV1 = await StartV2Async(path, new ExactClock(FirstWake), seen, resumesV1: true))
        {
            var run = await resumesV1.WaitForAsync(id, r => r.Executions >= 2 && r.LeaseOwner is null);

            Assert.Equal(RunStatus.Suspended, run.Status);
            Assert.Equal(1, run.WorkflowVersion);
        }

        EngineHarness.DeleteDatabase(path);
    }

    [Fact]
    public async Task CancelAndEvent_V1RunOnANodeWithOnlyV2_StoredAndTakeEffectOnceANodeResumesV1()
    {
        var path = EngineHarness.NewDatabasePath();
        var seen = new ConcurrentQueue<bool>();
        var id = await SuspendOnV1Async(path);

        var clock = new ExactClock(FirstWake);
        await using (var v2Only = await StartV2Async(path, clock, seen, resumesV1: false))
        {
            var sent = await v2Only.Client.SendEventAsync(id, "note", null);
            var cancel = await v2Only.Client.CancelRunAsync(id);
            await clock.WaitForTimerAsync(FirstWake + Millisecond);
            var left = (await v2Only.Store.Runs.GetRunAsync(id))!;

            Assert.Equal((EventSendOutcome.Stored, CancelRunOutcome.Requested), (sent.Outcome, cancel.Outcome));
            Assert.Equal((RunStatus.Suspended, 1, true), (left.Status, left.Executions, left.CancelRequested));
        }

        await using (var resumesV1 = await StartV2Async(path, new ExactClock(FirstWake), seen, resumesV1: true))
        {
            Assert.Equal(RunStatus.Cancelled, (await resumesV1.WaitForEndAsync(id)).Status);
        }

        EngineHarness.DeleteDatabase(path);
    }

    [Fact]
    public async Task IsPatchedAsync_InsideFanOutItemsAndTheirRetries_NewRunTakesThePatchEverywhere()
    {
        var seen = new ConcurrentQueue<bool>();
        var failedOnce = new ConcurrentDictionary<int, bool>();
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("wf", async (ctx, _, ct) =>
        {
            var results = await ctx.ForEachAsync<int, int>("item", [.. Enumerable.Range(1, 8)], i => i.ToString(System.Globalization.CultureInfo.InvariantCulture), async (i, token) =>
            {
                var patched = await ctx.IsPatchedAsync("new-price", token);
                seen.Enqueue(patched);
                if (failedOnce.TryAdd(i, true) && i % 2 == 0)
                {
                    throw new InvalidOperationException("first attempt fails");
                }

                return patched ? i * 10 : i;
            }, new ForEachOptions { MaxParallelism = 4, Step = new StepOptions { Retry = new Baton.Retries.RetryPolicy { BaseDelay = TimeSpan.Zero, JitterFactor = 0 } } }, cancellationToken: ct);
            return results.Sum(r => r.Value);
        }));

        var id = await node.StartRunAsync("wf");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal("360", run.Output);
        Assert.Equal(12, seen.Count);
        Assert.All(seen, Assert.True);
    }

    [Fact]
    public async Task IsPatchedAsync_RunPassedThePointOnV1Code_FalseAndStableAcrossResumes()
    {
        var path = EngineHarness.NewDatabasePath();
        var seen = new ConcurrentQueue<bool>();
        var id = await SuspendOnV1Async(path);

        await RunToEndOnV2Async(path, id, seen);

        Assert.Equal([false, false], seen);
        var steps = await StepsAsync(path, id);
        Assert.Equal("false", Assert.Single(steps, s => s.Kind == StepKind.Patch).Result);
        Assert.DoesNotContain(steps, s => s.Key == "extra");
        EngineHarness.DeleteDatabase(path);
    }

    [Fact]
    public async Task IsPatchedAsync_NewRunOnPatchedCode_TrueAndStableAcrossResumes()
    {
        var path = EngineHarness.NewDatabasePath();
        var seen = new ConcurrentQueue<bool>();
        string id;
        await using (var first = await StartV2Async(path, new ExactClock(Start), seen, resumesV1: false))
        {
            id = await first.StartRunAsync("wf", 1);
            await first.WaitForAsync(id, r => r.Status == RunStatus.Suspended);
        }

        await RunToEndOnV2Async(path, id, seen);

        Assert.Equal([true, true, true], seen);
        var steps = await StepsAsync(path, id);
        Assert.Equal("true", Assert.Single(steps, s => s.Kind == StepKind.Patch).Result);
        Assert.Contains(steps, s => s.Key == "extra" && s.Status == StepStatus.Succeeded);
        EngineHarness.DeleteDatabase(path);
    }

    [Fact]
    public async Task IsPatchedAsync_RunCompensatingWhenThePatchIsDeployed_ItsCompensationsStillRun()
    {
        // A run that failed on code without the patch and was compensating when code with a patch before its steps took it
        // over. Before: collecting the compensations, the replay stopped at the patch (not stored) as if the run had never
        // got there, so step a's compensation never ran and the run ended compensated with nothing undone.
        var path = EngineHarness.NewDatabasePath();
        var undone = new ConcurrentQueue<string>();
        var reached = new TaskCompletionSource();
        string id;
        await using (var v1 = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("saga", async (ctx, _, ct) =>
            {
                await ctx.StepAsync("a", _ => Task.FromResult(1), compensate: async (_, token) =>
                {
                    reached.TrySetResult();
                    await Task.Delay(Timeout.InfiniteTimeSpan, token);
                }, cancellationToken: ct);
                await ctx.StepAsync<int>("b", _ => throw new Baton.Retries.NonRetryableException("boom"), cancellationToken: ct);
                return 0;
            }),
            o => o.DrainTimeout = TimeSpan.Zero,
            databasePath: path))
        {
            id = await v1.StartRunAsync("saga");
            await reached.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await v1.StopAsync();
            Assert.Equal(RunStatus.Compensating, (await v1.Store.Runs.GetRunAsync(id))!.Status);
        }

        await using (var v2 = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("saga", async (ctx, _, ct) =>
            {
                if (await ctx.IsPatchedAsync("guard", ct))
                {
                    await ctx.StepAsync("guard", _ => Task.FromResult(0), compensate: (_, _) => { undone.Enqueue("guard"); return Task.CompletedTask; }, cancellationToken: ct);
                }

                await ctx.StepAsync("a", _ => Task.FromResult(1), compensate: (_, _) => { undone.Enqueue("a"); return Task.CompletedTask; }, cancellationToken: ct);
                await ctx.StepAsync<int>("b", _ => throw new Baton.Retries.NonRetryableException("boom"), cancellationToken: ct);
                return 0;
            }),
            o => o.NodeId = "node-b",
            databasePath: path))
        {
            var run = await v2.WaitForEndAsync(id);
            Assert.Equal((RunStatus.Compensated, "boom"), (run.Status, run.Failure!.Message));
        }

        // The old path: no guard, and the patch's answer is not stored by an execution that only undoes.
        Assert.Equal(["a"], undone);
        Assert.DoesNotContain(await StepsAsync(path, id), s => s.Kind == StepKind.Patch);
        EngineHarness.DeleteDatabase(path);
    }

    /// <summary>Version 1: a step, then a one-hour timer, then a step. Returns the run, suspended on the timer.</summary>
    private static async Task<string> SuspendOnV1Async(string path)
    {
        await using var v1 = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("wf", async (ctx, i, ct) =>
            {
                await ctx.StepAsync("before", _ => Task.FromResult(i), cancellationToken: ct);
                await ctx.DelayAsync("wait", TimeSpan.FromHours(1), ct);
                return await ctx.StepAsync("after", _ => Task.FromResult(i), cancellationToken: ct);
            }),
            databasePath: path);
        var id = await v1.StartRunAsync("wf", 1);
        await v1.WaitForAsync(id, r => r.Status == RunStatus.Suspended);
        return id;
    }

    /// <summary>Resumes the run on version-2 code at the first wake-up (it suspends on the new second timer), then at the second.</summary>
    private static async Task RunToEndOnV2Async(string path, string id, ConcurrentQueue<bool> seen)
    {
        await using (var second = await StartV2Async(path, new ExactClock(FirstWake), seen, resumesV1: true))
        {
            await second.WaitForAsync(id, r => r.Executions >= 2 && r.Status == RunStatus.Suspended && r.RunAfter == SecondWake);
        }

        await using var third = await StartV2Async(path, new ExactClock(SecondWake), seen, resumesV1: true);
        Assert.Equal(RunStatus.Succeeded, (await third.WaitForEndAsync(id)).Status);
    }

    /// <summary>
    /// Version 2: the patch "extra" adds a step after "before" (guarded, as old runs passed that point without it),
    /// and a second timer at the end (safe without a patch: no run has gone past the end).
    /// </summary>
    private static Task<EngineHarness> StartV2Async(string path, ExactClock clock, ConcurrentQueue<bool> seen, bool resumesV1) =>
        EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("wf", async (ctx, i, ct) =>
            {
                await ctx.StepAsync("before", _ => Task.FromResult(i), cancellationToken: ct);
                var patched = await ctx.IsPatchedAsync("extra", ct);
                seen.Enqueue(patched);
                if (patched)
                {
                    await ctx.StepAsync("extra", _ => Task.FromResult(i), cancellationToken: ct);
                }

                await ctx.DelayAsync("wait", TimeSpan.FromHours(1), ct);
                await ctx.DelayAsync("wait2", TimeSpan.FromHours(1), ct);
                return await ctx.StepAsync("after", _ => Task.FromResult(i), cancellationToken: ct);
            }, o => { o.Version = 2; o.ResumesVersions = resumesV1 ? [1] : []; }),
            o => { o.NodeId = "node-" + Guid.NewGuid().ToString("N")[..6]; o.PollInterval = Millisecond; o.DrainTimeout = TimeSpan.Zero; },
            databasePath: path,
            time: clock);

    private static async Task<IReadOnlyList<StepRecord>> StepsAsync(string path, string id)
    {
        await using var reader = await EngineHarness.StartAsync(_ => { }, databasePath: path, startServices: false);
        return await reader.Store.Steps.GetStepsAsync(id);
    }

    [Fact]
    public async Task IsPatchedAsync_AfterAnEarlierGuardWasRemoved_RunPastItsHistoryGetsTrue()
    {
        var path = EngineHarness.NewDatabasePath();
        var seen = new ConcurrentQueue<bool>();
        string id;
        // Deploy 2: guard "extra" (new runs take it: true stored), then a one-hour timer.
        await using (var v2 = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("wf", async (ctx, _, ct) =>
            {
                await ctx.StepAsync("before", _ => Task.FromResult(1), cancellationToken: ct);
                if (await ctx.IsPatchedAsync("extra", ct))
                {
                    await ctx.StepAsync("extra", _ => Task.FromResult(2), cancellationToken: ct);
                }

                await ctx.DelayAsync("wait", TimeSpan.FromHours(1), ct);
                return 0;
            }),
            databasePath: path))
        {
            id = await v2.StartRunAsync("wf");
            await v2.WaitForAsync(id, r => r.Status == RunStatus.Suspended);
        }

        // Deploy 3: no run older than "extra" is left, so its guard goes (the guarded code stays); a new change "audit" is
        // guarded after the timer, a point this run has never passed.
        await using (var v3 = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("wf", async (ctx, _, ct) =>
            {
                await ctx.StepAsync("before", _ => Task.FromResult(1), cancellationToken: ct);
                await ctx.StepAsync("extra", _ => Task.FromResult(2), cancellationToken: ct);
                await ctx.DelayAsync("wait", TimeSpan.FromHours(1), ct);
                seen.Enqueue(await ctx.IsPatchedAsync("audit", ct));
                return 0;
            }),
            o => { o.NodeId = "node-v3"; o.PollInterval = TimeSpan.FromMilliseconds(1); o.DrainTimeout = TimeSpan.Zero; },
            databasePath: path,
            time: new ExactClock(Start.AddHours(1))))
        {
            Assert.Equal(RunStatus.Succeeded, (await v3.WaitForEndAsync(id)).Status);
        }

        EngineHarness.DeleteDatabase(path);
        // Every step this run stored lies before "audit": by the README's rule the answer is true. Before (a review): the
        // marker of the removed guard was never reached again, the run counted as replaying, and every later patch was false.
        Assert.Equal([true], seen);
    }

    [Fact]
    public async Task IsPatchedAsync_RunStoredATimerNamedWithASlashPastThePoint_False()
    {
        // Version 1 stored step "invoice", then suspended on the timer "invoice/reminder" (a name that begins with another step's
        // name and '/'). Version 2 guards a new step between the two: the run went past that point on code without it. Before:
        // the stored timer counted as reached with "invoice" (as if it were an item of a fan-out "invoice"), the run did not count
        // as replaying, the answer was true and the v1 run ran the new step.
        var seen = new ConcurrentQueue<bool>();
        var steps = await DeployAsync(
            async (ctx, ct) =>
            {
                await ctx.StepAsync("invoice", _ => Task.FromResult(1), cancellationToken: ct);
                await ctx.DelayAsync("invoice/reminder", TimeSpan.FromHours(1), ct);
            },
            async (ctx, ct) =>
            {
                await ctx.StepAsync("invoice", _ => Task.FromResult(1), cancellationToken: ct);
                await GuardedStepAsync(ctx, "audit", "audit", seen, ct);
                await ctx.DelayAsync("invoice/reminder", TimeSpan.FromHours(1), ct);
            });

        Assert.Equal([false], seen);
        Assert.DoesNotContain(steps, s => s.Key == "audit");
    }

    [Fact]
    public async Task IsPatchedAsync_OneChangeIdGuardingTwoPlacesAndRunBetweenThem_SameAnswerAtBoth()
    {
        // Version 2 guards one change ("fraud") in two places: a check before "charge" and a report after the timer. A v1 run
        // suspended on the timer has passed the first place on code without the change, so it keeps the old path at both.
        // Before: each call with the id was a decision of its own (patch:fraud, patch:fraud#2), the second one found nothing
        // stored past it and answered true, and the v1 run filed a fraud report for a check it never made.
        var seen = new ConcurrentQueue<bool>();
        var steps = await DeployAsync(
            async (ctx, ct) =>
            {
                await ctx.StepAsync("charge", _ => Task.FromResult(1), cancellationToken: ct);
                await ctx.DelayAsync("wait", TimeSpan.FromHours(1), ct);
            },
            async (ctx, ct) =>
            {
                await GuardedStepAsync(ctx, "fraud", "fraud-check", seen, ct);
                await ctx.StepAsync("charge", _ => Task.FromResult(1), cancellationToken: ct);
                await ctx.DelayAsync("wait", TimeSpan.FromHours(1), ct);
                await GuardedStepAsync(ctx, "fraud", "fraud-report", seen, ct);
            });

        Assert.Equal([false, false], seen);
        Assert.DoesNotContain(steps, s => s.Key.StartsWith("fraud-", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "whitespace")]
    [InlineData("a\0b", "a patch id cannot hold the character U+0000")]
    [InlineData("half", "a patch id cannot hold half a surrogate pair")]
    [InlineData("a#2", "a patch id cannot hold '#' ('a#2')")]
    // The id's own limit: the key is "patch:" and the id, at most 500 characters.
    [InlineData("long", "a patch id is at most 494 characters; 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' has 600")]
    public async Task IsPatchedAsync_ChangeIdNoStoreCanKeyOrEmpty_RunFailsNamingItAndNothingStored(string changeId, string expected)
    {
        // Made here: a theory's data cannot carry half a surrogate pair (it arrives as U+FFFD).
        changeId = changeId switch { "half" => "a\ud800", "long" => new string('x', 600), _ => changeId };
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("wf", async (ctx, _, ct) =>
        {
            await ctx.StepAsync("before", _ => Task.FromResult(1), cancellationToken: ct);
            return await ctx.IsPatchedAsync(changeId, ct) ? 1 : 0;
        }));

        var id = await node.StartRunAsync("wf");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains(expected, run.Failure!.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(await node.Store.Steps.GetStepsAsync(id), s => s.Kind == StepKind.Patch);
    }

    private static readonly TimeSpan V1Timeout = TimeSpan.FromHours(1);
    private static readonly TimeSpan V2Timeout = TimeSpan.FromHours(5);
    private static readonly DateTimeOffset Redeployed = Start.AddDays(1);

    [Fact]
    public async Task RetryRunAsync_V1RunAfterARedeployOfV1AndV2Nodes_RetriedOnTheV2NodeDeadlineIsNowPlusV1sTimeout()
    {
        var path = EngineHarness.NewDatabasePath();
        var id = await FailOnV1Async(path);

        await using var v1 = await StartRetryNodeAsync(path, "v1", new ExactClock(Redeployed));
        await using var v2 = await StartRetryNodeAsync(path, "v2", new ExactClock(Redeployed));
        Assert.Equal(RetryRunOutcome.Retried, (await v2.Client.RetryRunAsync(id)).Outcome);
        // The retry woke the v2 node's claim loop, which leaves the run; the v1 node's is woken as a store notification would.
        v1.WakeWorker();
        var run = await v1.WaitForEndAsync(id);

        // The v1 node ran it (v1's output, not v2's) under v1's one hour, counted from the retry.
        Assert.Equal((RunStatus.Succeeded, "1", 1), (run.Status, run.Output, run.WorkflowVersion));
        Assert.Equal(Redeployed + V1Timeout, run.DeadlineAt);
        EngineHarness.DeleteDatabase(path);
    }

    [Theory]
    [InlineData("v2", 1)]
    [InlineData("none", 1)]
    [InlineData("v2-resumes-v1", 5)]
    public async Task RetryRunAsync_V1RunOnANodeWithoutV1Code_KeepsTheRunsOwnTimeout(string retryingNode, int expectedHours)
    {
        var path = EngineHarness.NewDatabasePath();
        var id = await FailOnV1Async(path);

        var clock = new ExactClock(Redeployed);
        await using (var node = await StartRetryNodeAsync(path, retryingNode, clock))
        {
            var retry = await node.Client.RetryRunAsync(id);
            var run = (await node.Store.Runs.GetRunAsync(id))!;

            Assert.Equal(RetryRunOutcome.Retried, retry.Outcome);
            // Only v1's code or code that resumes v1 runs it; on a node with neither it stays pending until one is up.
            Assert.Equal(Redeployed + TimeSpan.FromHours(expectedHours), run.DeadlineAt);
            if (retryingNode != "v2-resumes-v1")
            {
                await clock.WaitForTimerAsync(Redeployed + Millisecond);
                var left = (await node.Store.Runs.GetRunAsync(id))!;
                Assert.Equal((RunStatus.Pending, 1, Redeployed + V1Timeout), (left.Status, left.Executions, left.DeadlineAt));
            }
        }

        EngineHarness.DeleteDatabase(path);
    }

    [Fact]
    public async Task RunTimeout_V1RunPastItsDeadlineOnV2CodeWithALongerTimeout_FailureTellsTheDeadlineItWasHeldTo()
    {
        // Before: "run timed out after 18000 s", v2's RunTimeout, though the run was held to v1's hour.
        var path = EngineHarness.NewDatabasePath();
        string id;
        await using (var v1 = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("wf", async (ctx, _, ct) => await ctx.WaitForEventAsync<int>("approved", cancellationToken: ct), o => o.RunTimeout = V1Timeout),
            databasePath: path))
        {
            id = await v1.StartRunAsync("wf", 1);
            // Suspended on a wait with no timeout: it wakes at its deadline.
            var waiting = await v1.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);
            Assert.Equal(Start + V1Timeout, waiting.RunAfter);
        }

        await using var v2 = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("wf", async (ctx, _, ct) => await ctx.WaitForEventAsync<int>("approved", cancellationToken: ct), o =>
            {
                o.Version = 2;
                o.RunTimeout = V2Timeout;
                o.ResumesVersions = [1];
            }),
            o => { o.NodeId = "node-v2"; o.PollInterval = Millisecond; o.DrainTimeout = TimeSpan.Zero; },
            databasePath: path,
            time: new ExactClock(Start + V1Timeout));
        var run = await v2.WaitForEndAsync(id);

        Assert.Equal((RunStatus.Failed, 1, Start + V1Timeout), (run.Status, run.WorkflowVersion, run.DeadlineAt));
        Assert.Equal("run timed out: its deadline 2026-01-01T01:00:00.000Z passed, 3600 s after the run was created", run.Failure!.Message);
        Assert.Equal(typeof(RunTimeoutException).FullName, run.Failure.ErrorType);
        EngineHarness.DeleteDatabase(path);
    }

    /// <summary>A run of version 1 (RunTimeout one hour) that fails at once at <see cref="Start"/>; returns its id.</summary>
    private static async Task<string> FailOnV1Async(string path)
    {
        await using var v1 = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("wf", (_, _, _) => throw new InvalidOperationException("v1 bug"), o => o.RunTimeout = V1Timeout),
            databasePath: path);
        var id = await v1.StartRunAsync("wf", 1);
        var run = await v1.WaitForEndAsync(id);
        Assert.Equal((RunStatus.Failed, Start + V1Timeout), (run.Status, run.DeadlineAt));
        return id;
    }

    /// <summary>
    /// A node after the redeploy: "v1" (fixed, RunTimeout one hour), "v2" (RunTimeout five hours), "v2-resumes-v1" (the same,
    /// resuming v1 runs) or "none" (another workflow only).
    /// </summary>
    private static Task<EngineHarness> StartRetryNodeAsync(string path, string code, ExactClock clock) =>
        EngineHarness.StartAsync(
            b =>
            {
                if (code == "v1")
                {
                    b.AddWorkflow<int, int>("wf", (_, i, _) => Task.FromResult(i), o => o.RunTimeout = V1Timeout);
                }
                else if (code == "none")
                {
                    b.AddWorkflow<int, int>("other", (_, i, _) => Task.FromResult(i));
                }
                else
                {
                    b.AddWorkflow<int, int>("wf", (_, i, _) => Task.FromResult(i * 2), o =>
                    {
                        o.Version = 2;
                        o.RunTimeout = V2Timeout;
                        o.ResumesVersions = code == "v2-resumes-v1" ? [1] : [];
                    });
                }
            },
            o => { o.NodeId = "node-" + code; o.PollInterval = Millisecond; o.DrainTimeout = TimeSpan.Zero; },
            databasePath: path,
            time: clock);

    /// <summary>Step <paramref name="step"/> if the run takes patch <paramref name="changeId"/>; the answer goes to <paramref name="seen"/>.</summary>
    private static async Task GuardedStepAsync(IWorkflowContext ctx, string changeId, string step, ConcurrentQueue<bool> seen, CancellationToken ct)
    {
        var patched = await ctx.IsPatchedAsync(changeId, ct);
        seen.Enqueue(patched);
        if (patched)
        {
            await ctx.StepAsync(step, _ => Task.FromResult(0), cancellationToken: ct);
        }
    }

    /// <summary>
    /// A run of <paramref name="v1"/> (which ends on a one-hour timer) suspends; a node with <paramref name="v2"/> takes it at
    /// the wake-up and runs it to success. Returns the run's steps.
    /// </summary>
    private static async Task<IReadOnlyList<StepRecord>> DeployAsync(Func<IWorkflowContext, CancellationToken, Task> v1, Func<IWorkflowContext, CancellationToken, Task> v2)
    {
        var path = EngineHarness.NewDatabasePath();
        string id;
        await using (var first = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("wf", async (ctx, _, ct) => { await v1(ctx, ct); return 0; }), databasePath: path))
        {
            id = await first.StartRunAsync("wf");
            await first.WaitForAsync(id, r => r.Status == RunStatus.Suspended);
        }

        await using (var second = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("wf", async (ctx, _, ct) => { await v2(ctx, ct); return 0; }),
            o => { o.NodeId = "node-v2"; o.PollInterval = Millisecond; o.DrainTimeout = TimeSpan.Zero; },
            databasePath: path,
            time: new ExactClock(FirstWake)))
        {
            Assert.Equal(RunStatus.Succeeded, (await second.WaitForEndAsync(id)).Status);
        }

        var steps = await StepsAsync(path, id);
        EngineHarness.DeleteDatabase(path);
        return steps;
    }
}
