using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Baton.Core.Tests.Support;
using Baton.Retries;
using Baton.Runs;
using Baton.Steps;
using Baton.Storage;

namespace Baton.Core.Tests.FanOut;

/// <summary>ForEachAsync over items that arrive while the fan-out already runs (IAsyncEnumerable).</summary>
public sealed class StreamedFanOutTests
{
    [Fact]
    public async Task ForEachAsync_ItemsArriveOverTime_EachStartsBeforeTheListEnds()
    {
        var feed = Channel.CreateUnbounded<int>();
        var firstDone = new TaskCompletionSource();
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("stream", async (ctx, _, ct) =>
        {
            var results = await ctx.ForEachAsync("item", feed.Reader.ReadAllAsync(ct), i => i.ToString(), (i, _) =>
            {
                if (i == 0)
                {
                    firstDone.TrySetResult();
                }

                return Task.FromResult(i * 2);
            }, new ForEachOptions { MaxParallelism = 2 }, cancellationToken: ct);
            return results.Sum(r => r.Value);
        }));

        var id = await node.StartRunAsync("stream");
        await feed.Writer.WriteAsync(0);
        // Item 0 runs while the list is still open: nothing else has been written yet.
        await firstDone.Task.WaitAsync(TimeSpan.FromSeconds(60));
        for (var i = 1; i < 10; i++)
        {
            await feed.Writer.WriteAsync(i);
        }

        feed.Writer.Complete();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal("90", run.Output);
        Assert.Equal(10, run.Progress["item.total"]);
        Assert.Equal(10, run.Progress["item.done"]);
        var keys = (await node.Store.Steps.GetStepsAsync(id)).Where(s => s.Status == StepStatus.Succeeded).Select(s => s.Key).Order();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"item/{i}").Order(), keys);
    }

    [Fact]
    public async Task ForEachAsync_ResumedWhileListingWaits_CountersKeepEarlierItemsAndEndExact()
    {
        var path = EngineHarness.NewDatabasePath();
        var secondExecution = false;
        var blocked = new TaskCompletionSource();
        var listingWaits = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var listingMayGoOn = new TaskCompletionSource();

        void Workflow(Baton.Hosting.BatonBuilder b) => b.AddWorkflow<int, int>("resume", async (ctx, _, ct) =>
        {
            // Written with the counters, so the test knows it reads the second execution's flush.
            ctx.SetProgress("execution", secondExecution ? 2 : 1);
            var results = await ctx.ForEachAsync("item", Listing(ct), i => i.ToString(), async (i, token) =>
            {
                if (i == 6 && !secondExecution)
                {
                    blocked.TrySetResult();
                    await Task.Delay(Timeout.InfiniteTimeSpan, token);
                }

                return i;
            }, new ForEachOptions { MaxParallelism = 1 }, cancellationToken: ct);
            return results.Count;
        });

        // The first execution lists 0..11 as items end, one ahead of the one running (item 7 while item 6 holds the slot;
        // 6 while item 5 gives its room back); the second waits before it lists anything (a download retried from the start), then lists
        // 1..11: item 0, done before, is not listed again.
        async IAsyncEnumerable<int> Listing([EnumeratorCancellation] CancellationToken ct)
        {
            if (secondExecution)
            {
                listingWaits.TrySetResult();
                await listingMayGoOn.Task.WaitAsync(ct);
            }

            for (var i = secondExecution ? 1 : 0; i < 12; i++)
            {
                yield return i;
            }
        }

        string id;
        long listedFirst;
        await using (var first = await EngineHarness.StartAsync(Workflow, o => o.DrainTimeout = TimeSpan.Zero, databasePath: path))
        {
            id = await first.StartRunAsync("resume");
            await blocked.Task.WaitAsync(TimeSpan.FromSeconds(60));
            // The first execution's progress stored: 6 done, 7 or 8 listed.
            await first.Time.AdvanceToTimerAsync(EngineHarness.Start.AddSeconds(1), TimerKind.Periodic);
            await first.WaitForAsync(id, r => r.Progress.GetValueOrDefault("item.done") == 6);
            await first.StopAsync();
            listedFirst = (await first.Store.Runs.GetRunAsync(id))!.Progress["item.total"];
        }

        secondExecution = true;
        await using (var second = await EngineHarness.StartAsync(Workflow, o => o.NodeId = "node-b", databasePath: path))
        {
            await listingWaits.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await second.Time.AdvanceToTimerAsync(EngineHarness.Start.AddSeconds(1), TimerKind.Periodic);
            // Before, both read 0 here until the listing reached the earlier items again; the total stays at what the
            // first execution had listed until the listing ends.
            var waiting = await second.WaitForAsync(id, r => r.Progress.GetValueOrDefault("execution") == 2);
            listingMayGoOn.SetResult();
            var run = await second.WaitForEndAsync(id);

            Assert.Equal(6, waiting.Progress["item.done"]);
            Assert.InRange(listedFirst, 7, 8);
            Assert.Equal(listedFirst, waiting.Progress["item.total"]);
            Assert.Equal(RunStatus.Succeeded, run.Status);
            Assert.Equal("11", run.Output);
            Assert.Equal(11, run.Progress["item.done"]);
            Assert.Equal(11, run.Progress["item.total"]);
            Assert.Equal(0, run.Progress["item.deadLettered"]);
        }

        EngineHarness.DeleteDatabase(path);
    }

    [Fact]
    public async Task ForEachAsync_ListingThrows_StartedItemsAreCancelledAndTheRunFailsWithThatError()
    {
        var started = new TaskCompletionSource();
        var cancelled = new TaskCompletionSource();
        var listingMayFail = new TaskCompletionSource();
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("broken", async (ctx, _, ct) =>
        {
            await ctx.ForEachAsync("item", Listing(listingMayFail.Task), i => i.ToString(), async (i, token) =>
            {
                started.TrySetResult();
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, token);
                }
                catch (OperationCanceledException)
                {
                    cancelled.TrySetResult();
                    throw;
                }

                return i;
            }, new ForEachOptions { MaxParallelism = 2 }, cancellationToken: ct);
            return 0;
        }));

        var id = await node.StartRunAsync("broken");
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        listingMayFail.SetResult();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("the download broke", run.Failure!.Message);
        Assert.True(cancelled.Task.IsCompleted, "the started item was not cancelled");

        static async IAsyncEnumerable<int> Listing(Task mayFail)
        {
            yield return 1;
            await mayFail;
            throw new NonRetryableException("the download broke");
        }
    }

    [Fact]
    public async Task ForEachAsync_ItemFailsTheFanOut_RunFailsNamingTheItemAndListingStops()
    {
        var listed = 0;
        var allListed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var listingCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("failing", async (ctx, _, ct) =>
        {
            // Item 3 fails once the six are listed (room for eight: the listing is not held back), so the listing waits then.
            await ctx.ForEachAsync("item", Listing(() => Interlocked.Increment(ref listed), allListed, listingCancelled), i => i.ToString(), async (i, _) =>
            {
                if (i == 3)
                {
                    await allListed.Task;
                    throw new NonRetryableException("item 3 is corrupt");
                }

                return i;
            }, new ForEachOptions { MaxParallelism = 4 }, cancellationToken: ct);
            return 0;
        }));

        var run = await node.WaitForEndAsync(await node.StartRunAsync("failing"));

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("item/3", run.Failure!.Step);
        Assert.Contains("item 3 is corrupt", run.Failure.Message);
        Assert.Equal(6, Volatile.Read(ref listed));
        // The listing was told to stop (its token cancelled by the failed item), not left waiting.
        Assert.True(listingCancelled.Task.IsCompleted, "the listing was not cancelled after the fan-out failed");

        // Six items, then nothing until asked again: a fan-out that did not cancel the listing after item 3 failed
        // would leave the run waiting here forever (and the test would time out) instead of ending it.
        static async IAsyncEnumerable<int> Listing(Action onItem, TaskCompletionSource allListed, TaskCompletionSource cancelled, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            for (var i = 0; i < 6; i++)
            {
                onItem();
                yield return i;
                await Task.Yield();
            }

            allListed.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                cancelled.TrySetResult();
                throw;
            }
        }
    }

    [Fact]
    public async Task ForEachAsync_ListingThatTakesNoTokenAndAnItemFailsTheFanOut_ListingReadNoFurther()
    {
        // An async iterator without [EnumeratorCancellation] never sees the fan-out's token. Before, it was read to its end
        // (here 100,000 items, a whole download) after item 0 had failed the fan-out, before the run could fail.
        const int count = 100_000;
        var listed = 0;
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("deaf", async (ctx, _, ct) =>
        {
            await ctx.ForEachAsync("item", Listing(), i => i.ToString(), (i, _) =>
                i == 0 ? throw new NonRetryableException("item 0 is corrupt") : Task.FromResult(i),
                new ForEachOptions { MaxParallelism = 1 }, cancellationToken: ct);
            return 0;
        }));

        var run = await node.WaitForEndAsync(await node.StartRunAsync("deaf"));

        Assert.Equal((RunStatus.Failed, "item/0"), (run.Status, run.Failure!.Step));
        Assert.InRange(Volatile.Read(ref listed), 1, count - 1);

        async IAsyncEnumerable<int> Listing()
        {
            for (var i = 0; i < count; i++)
            {
                Interlocked.Increment(ref listed);
                yield return i;
                await Task.Yield();
            }
        }
    }

    [Fact]
    public async Task ForEachAsync_ItemsListedFasterThanTheyRun_ListingHeldAtMostMaxParallelismAhead()
    {
        // Before (review 58), the listing was read to its end at once while the first items held their slots: every item
        // (a whole file's chunks, if items carry them) waited in memory for a slot.
        const int limit = 2;
        var listed = 0;
        var ended = 0;
        var mostAhead = 0;
        // The first items hold both slots until the test lets them go.
        var held = new FirstItemsHeld(limit);
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("ahead", async (ctx, _, ct) =>
        {
            var results = await ctx.ForEachAsync("item", Listing(), i => i.ToString(), (i, _) => HoldFirstItemsAsync(i), new ForEachOptions { MaxParallelism = limit }, cancellationToken: ct);
            return results.Count;
        }));

        var id = await node.StartRunAsync("ahead");
        await held.AllHolding.WaitAsync(TimeSpan.FromSeconds(60));
        var listedWhileHeld = Volatile.Read(ref listed);
        held.Release();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal((RunStatus.Succeeded, "40", 40L), (run.Status, run.Output, run.Progress["item.done"]));
        // Items listed and not ended: those running and at most as many again waiting for a slot.
        Assert.InRange(listedWhileHeld, limit, 2 * limit);
        Assert.InRange(mostAhead, limit, 2 * limit);

        IAsyncEnumerable<int> Listing() => Enumerable.Range(0, 40).Select(i =>
        {
            FanOutTests.InterlockedMax(ref mostAhead, Interlocked.Increment(ref listed) - Volatile.Read(ref ended));
            return i;
        }).ToAsyncEnumerable();

        async Task<int> HoldFirstItemsAsync(int i)
        {
            await held.HoldAsync(i);
            Interlocked.Increment(ref ended);
            return i;
        }
    }

    [Fact]
    public async Task ForEachAsync_DuplicateKeyListed_RunFailsWithClearError()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("dup", async (ctx, _, ct) =>
        {
            await ctx.ForEachAsync("item", new[] { 1, 2, 1 }.ToAsyncEnumerable(), i => i.ToString(), (i, _) => Task.FromResult(i), cancellationToken: ct);
            return 0;
        }));

        var run = await node.WaitForEndAsync(await node.StartRunAsync("dup"));

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("duplicate item keys (item/1)", run.Failure!.Message);
    }
}
