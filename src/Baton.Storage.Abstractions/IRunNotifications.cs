namespace Baton.Storage;

/// <summary>
/// Optional for a store: tells this node at once when a run became runnable anywhere (created, retried,
/// cancelled while suspended, lease released), so an idle worker need not wait for its next poll. The
/// worker uses it when the <see cref="IBatonStore"/> also implements this interface; it keeps polling
/// every <c>PollInterval</c> regardless, so a lost notification only delays work, never loses it.
/// </summary>
public interface IRunNotifications
{
    /// <summary>
    /// Calls <paramref name="onRunnable"/> for every notification until <paramref name="cancellationToken"/>
    /// is cancelled, reconnecting by itself after a failure (and calling <paramref name="onRunnable"/> once
    /// after each reconnect, since notifications may have been missed meanwhile). Completes when cancelled.
    /// <paramref name="onRunnable"/> must be cheap and must not throw.
    /// </summary>
    Task ListenAsync(Action onRunnable, CancellationToken cancellationToken = default);
}
