using System.Collections.Concurrent;
using Baton.Core.Tests.Support;
using Baton.Retries;
using Baton.Runs;
using Baton.Steps;
using Baton.Storage;

namespace Baton.Core.Tests.FanOut;

public sealed class FanOutTests
{
    [Fact]
    public async Task ForEachAsync_ItemInItsBackoffWhenASiblingFailsTheFanOut_EndsFailedNotRunning()
    {
        // Item 0 fails and waits a 1 h backoff in memory (item 1 runs beside it); item 1 then fails for good, which stops the
        // fan-out and cuts item 0's wait. Before (review 58): item 0 stayed "running" in the store under the failed run for ever.
        var clock = new ExactClock(EngineHarness.Start);
        var firstFailed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var mayFail = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("fan", async (ctx, _, ct) =>
            {
                await ctx.ForEachAsync<int, int>("item", [0, 1], i => i.ToString(System.Globalization.CultureInfo.InvariantCulture), async (i, _) =>
                {
                    if (i == 0)
                    {
                        firstFailed.TrySetResult();
                        throw new InvalidOperationException("flaky");
                    }

                    await mayFail.Task;
                    throw new NonRetryableException("bad");
                }, new ForEachOptions { MaxParallelism = 2, Step = new StepOptions { Retry = new RetryPolicy { BaseDelay = TimeSpan.FromHours(1), JitterFactor = 0 } } }, cancellationToken: ct);
                return 0;
            }),
            o => o.DrainTimeout = TimeSpan.Zero,
            time: clock);

        var id = await node.StartRunAsync("fan");
        await firstFailed.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await clock.WaitForTimerAsync(EngineHarness.Start.AddHours(1));
        mayFail.SetResult();
        var run = await node.WaitForEndAsync(id);
        var steps = (await node.Store.Steps.GetStepsAsync(id)).Select(s => $"{s.Key}:{s.Status}").Order(StringComparer.Ordinal).ToList();
        var itemZero = (await node.Store.Steps.GetAttemptsAsync(id)).Where(a => a.StepKey == "item/0").OrderBy(a => a.Attempt).Select(a => a.Outcome).ToList();

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal(["item/0:Failed", "item/1:Failed"], steps);
        Assert.Equal([AttemptOutcome.Failed, AttemptOutcome.Cancelled], itemZero);
    }

    [Fact]
    public async Task ForEachAsync_DeadLetterPolicy_SetsFailedItemsAsideAndGoesOn()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("chunks", async (ctx, _, ct) =>
        {
            var results = await ctx.ForEachAsync("chunk", Enumerable.Range(0, 10).ToList(), i => i.ToString(), (i, _) =>
                i is 3 or 7 ? throw new NonRetryableException($"chunk {i} is corrupt") : Task.FromResult(i * 10),
                new ForEachOptions { MaxParallelism = 3, OnItemFailure = ItemFailurePolicy.DeadLetter }, cancellationToken: ct);
            return results.Where(r => r.Succeeded).Sum(r => r.Value);
        }));

        var id = await node.StartRunAsync("chunks");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal((450 - 30 - 70).ToString(), run.Output);
        Assert.Equal(10, run.Progress["chunk.total"]);
        Assert.Equal(8, run.Progress["chunk.done"]);
        Assert.Equal(2, run.Progress["chunk.deadLettered"]);
        Assert.Equal(2, run.Errors.Count);
        var dead = (await node.Store.Steps.GetStepsAsync(id)).Where(s => s.Status == StepStatus.DeadLettered).Select(s => s.Key).Order();
        Assert.Equal(["chunk/3", "chunk/7"], dead);
    }

    [Fact]
    public async Task ForEachAsync_DeadLetteredItem_ErrorTypeGivenWhenSetAsideAndWhenReplayedFromTheStore()
    {
        var path = EngineHarness.NewDatabasePath();
        var seen = new System.Collections.Concurrent.ConcurrentQueue<string?>();
        var blocked = new TaskCompletionSource();
        var block = true;

        void Workflow(Baton.Hosting.BatonBuilder b) => b.AddWorkflow<int, int>("typed", async (ctx, _, ct) =>
        {
            var results = await ctx.ForEachAsync("item", [0, 1], i => i.ToString(), (i, _) =>
                i == 1 ? throw new InvalidDataException("item 1 is corrupt") : Task.FromResult(i),
                new ForEachOptions { OnItemFailure = ItemFailurePolicy.DeadLetter, Step = new StepOptions { Retry = new Baton.Retries.RetryPolicy { MaxAttempts = 1 } } },
                cancellationToken: ct);
            seen.Enqueue(results.Single(r => !r.Succeeded).ErrorType);
            await ctx.StepAsync("after", async token =>
            {
                if (block)
                {
                    blocked.TrySetResult();
                    await Task.Delay(Timeout.InfiniteTimeSpan, token);
                }
            }, cancellationToken: ct);
            return 0;
        });

        string id;
        await using (var first = await EngineHarness.StartAsync(Workflow, o => o.DrainTimeout = TimeSpan.Zero, databasePath: path))
        {
            id = await first.StartRunAsync("typed");
            await blocked.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await first.StopAsync();
        }

        block = false;
        await using (var second = await EngineHarness.StartAsync(Workflow, o => o.NodeId = "node-b", databasePath: path))
        {
            Assert.Equal(RunStatus.Succeeded, (await second.WaitForEndAsync(id)).Status);
        }

        // Set aside in the first execution, read back from its stored step in the second.
        Assert.Equal([typeof(InvalidDataException).FullName, typeof(InvalidDataException).FullName], seen);
        EngineHarness.DeleteDatabase(path);
    }

    [Fact]
    public async Task ForEachAsync_FailRunPolicy_FailsRunNamingItem()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("chunks", async (ctx, _, ct) =>
        {
            await ctx.ForEachAsync("chunk", Enumerable.Range(0, 20).ToList(), i => i.ToString(), (i, _) =>
                i == 5 ? throw new NonRetryableException("bad chunk") : Task.FromResult(i), new ForEachOptions { MaxParallelism = 2 }, cancellationToken: ct);
            return 0;
        }));

        var id = await node.StartRunAsync("chunks");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("chunk/5", run.Failure!.Step);
    }

    [Fact]
    public async Task ForEachAsync_MaxParallelism_NeverExceeded()
    {
        const int limit = 3;
        const int count = 10;
        var gates = Enumerable.Range(0, count).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var startOrder = new ConcurrentQueue<int>();
        using var starts = new SemaphoreSlim(0);
        var executions = new int[count];
        var running = 0;
        var peak = 0;
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("bounded", async (ctx, _, ct) =>
        {
            await ctx.ForEachAsync("item", Enumerable.Range(0, count).ToList(), i => i.ToString(), async (i, _) =>
            {
                InterlockedMax(ref peak, Interlocked.Increment(ref running));
                Interlocked.Increment(ref executions[i]);
                startOrder.Enqueue(i);
                starts.Release();
                // Each item holds its slot until the test lets it go, so items overlap as far as the bound allows.
                await gates[i].Task;
                Interlocked.Decrement(ref running);
                return i;
            }, new ForEachOptions { MaxParallelism = limit }, cancellationToken: ct);
            return 0;
        }), o => o.DrainTimeout = TimeSpan.Zero);

        var id = await node.StartRunAsync("bounded");
        // Let the items go one at a time, in the order they started, each time only once every slot is taken.
        var started = 0;
        for (var released = 0; released < count; released++)
        {
            for (; started < Math.Min(released + limit, count); started++)
            {
                Assert.True(await starts.WaitAsync(TimeSpan.FromSeconds(60)), $"only {started} items started after {released} were let go");
            }

            gates[startOrder.ElementAt(released)].SetResult();
        }

        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(limit, peak);
        Assert.All(executions, n => Assert.Equal(1, n));
        Assert.Equal(count, run.Progress["item.done"]);
    }

    [Fact]
    public async Task ForEachAsync_ListOfItems_ItemsTakenAtMostMaxParallelismAheadOfTheRunningOnes()
    {
        // Before (review 58), every item of a list was taken at once, each with a task waiting for a slot, while the first
        // ones ran. A list that makes its items when they are read (here it records the highest index read) shows how far
        // ahead they are taken.
        const int limit = 2;
        var items = new RecordingList(40);
        // The first items hold both slots until the test lets them go.
        var held = new FirstItemsHeld(limit);
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("list", async (ctx, _, ct) =>
        {
            var results = await ctx.ForEachAsync("item", items, i => i.ToString(System.Globalization.CultureInfo.InvariantCulture), async (i, _) =>
            {
                await held.HoldAsync(i);
                return i;
            }, new ForEachOptions { MaxParallelism = limit }, cancellationToken: ct);
            return results.Sum(r => r.Value);
        }));

        var id = await node.StartRunAsync("list");
        await held.AllHolding.WaitAsync(TimeSpan.FromSeconds(60));
        var takenWhileHeld = items.HighestRead + 1;
        held.Release();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal((RunStatus.Succeeded, "780", 40L, 40L), (run.Status, run.Output, run.Progress["item.done"], run.Progress["item.total"]));
        // The two running and at most two more waiting for a slot.
        Assert.InRange(takenWhileHeld, limit, 2 * limit);
    }

    [Fact]
    public async Task ForEachAsync_ItemKeyHoldsNul_RunFailsWithClearErrorOnEveryStore()
    {
        // PostgreSQL text cannot hold U+0000: refused by the engine, so SQLite fails the run the same way.
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("nul", async (ctx, _, ct) =>
        {
            await ctx.ForEachAsync("item", new[] { "a", "b\0" }, s => s, (s, _) => Task.FromResult(s), cancellationToken: ct);
            return 0;
        }));

        var id = await node.StartRunAsync("nul");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("item key holding the character U+0000", run.Failure!.Message);
        Assert.DoesNotContain(await node.Store.Steps.GetStepsAsync(id), s => s.Key.Contains('\0', StringComparison.Ordinal));
    }

    [Fact]
    public async Task ForEachAsync_ItemKeyHoldingHalfASurrogatePair_RunFailsWithClearErrorAndNoItemStored()
    {
        // Not text: PostgreSQL's driver threw EncoderFallbackException at the item's write; SQLite stored it.
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("half", async (ctx, _, ct) =>
        {
            await ctx.ForEachAsync("item", new[] { "a", "b\udc00" }, s => s, (s, _) => Task.FromResult(s), cancellationToken: ct);
            return 0;
        }));

        var id = await node.StartRunAsync("half");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("fan-out 'item' has an item key holding half a surrogate pair", run.Failure!.Message);
        Assert.DoesNotContain(await node.Store.Steps.GetStepsAsync(id), s => s.Key.StartsWith("item", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ForEachAsync_ItemKeyEqualToAStepsKey_RunFailsNamingTheKeyAndNeitherTakesTheOthersResult(bool stepFirst)
    {
        // A step named "page/1" and item "1" of the fan-out "page" are both keyed "page/1". Before: the second of them
        // returned the first's stored result without running its body, and the run succeeded with 120 (or 40) instead of 30.
        var ran = new ConcurrentQueue<string>();
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("pages", async (ctx, _, ct) =>
        {
            var step = 0;
            if (stepFirst)
            {
                step = await ctx.StepAsync("page/1", _ => { ran.Enqueue("step"); return Task.FromResult(100); }, cancellationToken: ct);
            }

            var results = await ctx.ForEachAsync("page", [1, 2], i => i.ToString(), (i, _) =>
            {
                ran.Enqueue($"item {i}");
                return Task.FromResult(i * 10);
            }, cancellationToken: ct);
            if (!stepFirst)
            {
                step = await ctx.StepAsync("page/1", _ => { ran.Enqueue("step"); return Task.FromResult(100); }, cancellationToken: ct);
            }

            return results.Sum(r => r.Value) + step;
        }));

        var run = await node.WaitForEndAsync(await node.StartRunAsync("pages"));

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("'page/1'", run.Failure!.Message);
        // What ran before the second of the two was refused, and nothing of it.
        Assert.Equal(stepFirst ? ["step"] : ["item 1", "item 2"], ran.Order());
    }

    [Fact]
    public async Task ForEachAsync_DuplicateKeys_RunFailsWithClearError()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("dup", async (ctx, _, ct) =>
        {
            await ctx.ForEachAsync("item", new[] { 1, 1 }, i => i.ToString(), (i, _) => Task.FromResult(i), cancellationToken: ct);
            return 0;
        }));

        var run = await node.WaitForEndAsync(await node.StartRunAsync("dup"));

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("duplicate item keys", run.Failure!.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ForEachAsync_ResumedAfterInterruption_SkipsCompletedItems(bool streamed)
    {
        var path = EngineHarness.NewDatabasePath();
        var executions = new int[12];
        var block = true;
        var blocked = new TaskCompletionSource();

        void Workflow(Baton.Hosting.BatonBuilder b) => b.AddWorkflow<int, int>("resume", async (ctx, _, ct) =>
        {
            async Task<int> Work(int i, CancellationToken token)
            {
                Interlocked.Increment(ref executions[i]);
                if (i >= 6 && block)
                {
                    blocked.TrySetResult();
                    await Task.Delay(Timeout.InfiniteTimeSpan, token);
                }

                return i;
            }

            // The same fan-out over a list, or over items listed one by one (IAsyncEnumerable).
            var items = Enumerable.Range(0, 12);
            var options = new ForEachOptions { MaxParallelism = 1 };
            var results = streamed
                ? await ctx.ForEachAsync("item", items.ToAsyncEnumerable(), i => i.ToString(), Work, options, cancellationToken: ct)
                : await ctx.ForEachAsync("item", items.ToList(), i => i.ToString(), Work, options, cancellationToken: ct);
            return results.Sum(r => r.Value);
        });

        string id;
        await using (var first = await EngineHarness.StartAsync(Workflow, o => o.DrainTimeout = TimeSpan.Zero, databasePath: path))
        {
            id = await first.StartRunAsync("resume");
            await blocked.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await first.StopAsync();
        }

        block = false;
        await using (var second = await EngineHarness.StartAsync(Workflow, o => o.NodeId = "node-b", databasePath: path))
        {
            var run = await second.WaitForEndAsync(id);
            Assert.Equal(RunStatus.Succeeded, run.Status);
            Assert.Equal("66", run.Output);
            Assert.Equal(12, run.Progress["item.done"]);
        }

        Assert.All(executions[..6], n => Assert.Equal(1, n));
        Assert.Equal(2, executions[6]);
        Assert.All(executions[7..], n => Assert.Equal(1, n));
        EngineHarness.DeleteDatabase(path);
    }

    [Fact]
    public async Task CancelRunAsync_SuspendedRunThatCaughtAFanOutsFailure_CompensatesTheFallbackAndTheItemsDone()
    {
        // The replay that collects a cancelled run's compensations stopped at the failed item, as if it were unfinished,
        // instead of throwing its failure again: the fallback the workflow took was never compensated.
        var undone = new ConcurrentQueue<string>();
        var clock = new ExactClock(EngineHarness.Start);
        await using var node = await EngineHarness.StartAsync(
            b => CaughtFailureWorkflow<StepFailedException>.Add(b, "caught-fan-out", (ctx, ct) =>
                ctx.ForEachAsync("reserve", [0, 1], i => i.ToString(), (i, _) =>
                    i == 1 ? throw new NonRetryableException("warehouse 1 refused") : Task.FromResult(i),
                    new ForEachOptions { MaxParallelism = 1 }, compensate: (i, _, _) => { undone.Enqueue($"reserve {i}"); return Task.CompletedTask; }, cancellationToken: ct),
                undone),
            o => o.DrainTimeout = TimeSpan.Zero,
            time: clock);

        var run = await node.CancelOnceSuspendedAsync(await node.StartRunAsync("caught-fan-out"), _ => true);

        Assert.Equal((RunStatus.Cancelled, "compensated"), (run.Status, run.Failure?.SagaState));
        // Newest first: the fallback, then the item that was reserved before the other failed.
        Assert.Equal(["backup", "reserve 0"], undone);
    }

    [Fact]
    public async Task ForEachAsync_ResumedAfterTheWorkflowCaughtItsFailure_ItemsCutOffByThatFailureAreNotRunAgain()
    {
        // Item 2 fails for good while items 0 and 1 run; the fan-out stops and cuts them off, and the workflow catches the
        // failure and sleeps an hour. Before (review 58): each resume ran items 0 and 1's work again before item 2's stored
        // failure stopped the fan-out once more.
        var clock = new ExactClock(EngineHarness.Start);
        var started = new ConcurrentQueue<int>();
        var bothRun = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, string>("caught", async (ctx, _, ct) =>
            {
                string caught;
                try
                {
                    await ctx.ForEachAsync<int, int>("item", [0, 1, 2], i => i.ToString(System.Globalization.CultureInfo.InvariantCulture), async (i, itemToken) =>
                    {
                        if (i == 2)
                        {
                            await bothRun.Task;
                            throw new NonRetryableException("item 2 is corrupt");
                        }

                        started.Enqueue(i);
                        if (started.Count == 2)
                        {
                            bothRun.TrySetResult();
                        }

                        await Task.Delay(Timeout.Infinite, itemToken);
                        return i;
                    }, new ForEachOptions { MaxParallelism = 3 }, cancellationToken: ct);
                    caught = "none";
                }
                catch (StepFailedException failed)
                {
                    caught = failed.StepKey;
                }

                await ctx.DelayAsync("later", TimeSpan.FromHours(1), ct);
                return caught;
            }),
            o => o.DrainTimeout = TimeSpan.Zero,
            time: clock);

        var id = await node.StartRunAsync("caught");
        await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended);
        clock.AdvanceTo(EngineHarness.Start.AddHours(1));
        node.WakeWorker();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal((RunStatus.Succeeded, "\"item/2\""), (run.Status, run.Output));
        Assert.Equal(2, run.Executions);
        Assert.Equal([0, 1], started.Order());
    }

    /// <summary>Items 0..count-1 made when read by index (keys are read through the enumerator); records the highest index read.</summary>
    private sealed class RecordingList(int count) : IReadOnlyList<int>
    {
        private int _highestRead = -1;

        public int HighestRead => Volatile.Read(ref _highestRead);

        public int Count => count;

        public int this[int index]
        {
            get
            {
                InterlockedMax(ref _highestRead, index);
                return index;
            }
        }

        public IEnumerator<int> GetEnumerator() => Enumerable.Range(0, count).GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    internal static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
