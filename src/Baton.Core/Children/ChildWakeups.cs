using Baton.Runs;
using Baton.Storage;
using Baton.Workers;

namespace Baton.Children;

/// <summary>Wakes a parent when its child ends, and cancels a cancelled parent's children.</summary>
internal static class ChildWakeups
{
    /// <summary>
    /// The name of the event a child's end stores for its parent: storing it makes a suspended parent due at once
    /// (and announces it to other nodes where the store can), like any event.
    /// </summary>
    public static string EventName(string childRunId) => "baton.child." + childRunId;

    /// <summary>Called once a child's terminal state is stored.</summary>
    public static async Task ChildEndedAsync(EngineServices engine, WorkSignal signal, RunRecord child)
    {
        if (child.ParentRunId is not { } parent)
        {
            return;
        }

        try
        {
            // One event per end, without an idempotency key: a child retried with its parent ends again, and that end must
            // wake the parent again (keyed by the child's id, the second end was a duplicate, and the parent slept until its
            // 5-minute recheck).
            var sent = await engine.Events.SendEventAsync(new SendEventRequest
            {
                RunId = parent, Name = EventName(child.Id), Now = engine.Time.GetUtcNow(),
            }, CancellationToken.None).ConfigureAwait(false);
            if (sent.Outcome == SendEventOutcome.Stored)
            {
                signal.Notify();
            }
        }
        catch (Exception ex)
        {
            // The parent finds the child ended when it next looks (ChildRuns.RecheckInterval): late, not lost.
            Log.StoreWriteFailed(engine.Logger, ex, parent);
        }
    }

    /// <summary>
    /// Requests the cancellation of every active child of <paramref name="parentRunId"/>, and of theirs: done when the
    /// parent's cancel is requested (<see cref="Runs.BatonClient.CancelRunAsync"/>), not only once the parent is claimed
    /// again. A parent waiting on children that hold every free run slot would otherwise get no slot to replay in until
    /// they ended: its running children ran to the end and succeeded under a cancelled parent.
    /// </summary>
    public static async Task CancelChildrenAsync(EngineServices engine, Worker worker, WorkSignal signal, string parentRunId)
    {
        await CancelTreeAsync(engine, worker, parentRunId, depth: 0).ConfigureAwait(false);
        signal.Notify();
    }

    private static async Task CancelTreeAsync(EngineServices engine, Worker worker, string parentRunId, int depth)
    {
        await foreach (var child in ChildrenAsync(engine, parentRunId, CancellationToken.None).ConfigureAwait(false))
        {
            if (!child.Status.IsActive())
            {
                continue;
            }

            var result = await engine.Runs.CancelRunAsync(new CancelRunRequest(child.Id, engine.Time.GetUtcNow()), CancellationToken.None).ConfigureAwait(false);
            if (result.Outcome == CancelRunOutcome.Cancelled)
            {
                // A pending child, cancelled without executing: no executor counts its end.
                engine.Metrics.RunCompleted(child.Workflow, RunStatus.Cancelled);
            }
            else if (result.Outcome == CancelRunOutcome.Requested)
            {
                worker.CancelLocal(child.Id);
            }

            // A child that is itself a parent may be waiting on runs that hold the slots it would replay in; one cancelled at
            // once (a retried parent pending with its retried children) never replays to cancel its own. Before, only a child
            // whose cancel was requested was looked into, and the grandchildren of a cancelled pending one ran to their end.
            if (depth < MaxTreeDepth && MayHaveChildren(result))
            {
                await CancelTreeAsync(engine, worker, child.Id, depth + 1).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Whether a run whose cancel ended so may have active children to cancel: one whose cancel was requested (it runs or
    /// waits), or one cancelled at once that had executed (a retried parent pending with its retried children). A run that
    /// never executed started no child, so no list is read for it.
    /// </summary>
    public static bool MayHaveChildren(CancelRunRecordResult result) =>
        result.Outcome == CancelRunOutcome.Requested || result is { Outcome: CancelRunOutcome.Cancelled, Run.Executions: > 0 };

    /// <summary>Every child of <paramref name="parentRunId"/>, newest first, page by page (without input or output).</summary>
    public static async IAsyncEnumerable<RunRecord> ChildrenAsync(
        EngineServices engine, string parentRunId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? cursor = null;
        do
        {
            var page = await engine.Runs.ListRunsAsync(
                new ListRunsRequest { ParentRunId = parentRunId, Cursor = cursor, Limit = RunLimits.MaxPageSize, WithoutPayloads = true },
                cancellationToken).ConfigureAwait(false);
            foreach (var child in page.Runs)
            {
                yield return child;
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }

    /// <summary>
    /// How deep a cancel, or the retry of a cancelled parent, reaches down the tree at once; deeper runs are cancelled when
    /// their parents replay, as before.
    /// </summary>
    public const int MaxTreeDepth = 32;
}
