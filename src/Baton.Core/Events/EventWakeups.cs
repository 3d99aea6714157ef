using Baton.Storage;
using Baton.Workers;

namespace Baton.Events;

/// <summary>Closes the window between a run finding no event and its suspension being stored.</summary>
internal static class EventWakeups
{
    /// <summary>
    /// Called once a run waiting for <paramref name="eventName"/> is stored as suspended: an event stored between
    /// its last look and that write found it still leased and did not wake it, so this does.
    /// </summary>
    public static async Task AfterSuspendAsync(EngineServices engine, WorkSignal signal, string runId, string eventName)
    {
        try
        {
            var woken = await engine.Events.WakeIfEventStoredAsync(
                new WakeIfEventStoredRequest { RunId = runId, Name = eventName, Now = engine.Time.GetUtcNow() },
                CancellationToken.None).ConfigureAwait(false);
            if (woken)
            {
                signal.Notify();
            }
        }
        catch (Exception ex)
        {
            // The run stays suspended until its timeout, or until the next event of a name it waits for: logged, not lost.
            Log.StoreWriteFailed(engine.Logger, ex, runId);
        }
    }
}
