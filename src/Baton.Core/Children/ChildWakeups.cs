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
            var sent = await engine.Events.SendEventAsync(new SendEventRequest
            {
                RunId = parent, Name = EventName(child.Id), IdempotencyKey = child.Id, Now = engine.Time.GetUtcNow(),
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

    /// <summary>Requests the cancellation of every active child of <paramref name="parentRunId"/>.</summary>
    public static async Task CancelChildrenAsync(EngineServices engine, Worker worker, WorkSignal signal, string parentRunId)
    {
        string? cursor = null;
        do
        {
            var page = await engine.Runs.ListRunsAsync(
                new ListRunsRequest { ParentRunId = parentRunId, Cursor = cursor, Limit = RunLimits.MaxPageSize }, CancellationToken.None).ConfigureAwait(false);
            foreach (var child in page.Runs.Where(r => r.Status.IsActive()))
            {
                var result = await engine.Runs.CancelRunAsync(new CancelRunRequest(child.Id, engine.Time.GetUtcNow()), CancellationToken.None).ConfigureAwait(false);
                if (result.Outcome == CancelRunOutcome.Requested)
                {
                    worker.CancelLocal(child.Id);
                }
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);

        signal.Notify();
    }
}
