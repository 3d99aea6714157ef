using Baton.Hosting;
using Baton.Storage;

namespace Baton.Steps;

/// <summary>
/// The write of an attempt's start, sent only if the attempt is still running after
/// <see cref="BatonOptions.AttemptStartWriteDelay"/>. The end write upserts the attempt and step rows, so
/// a short attempt costs one write instead of two.
/// </summary>
internal sealed class DeferredAttemptStart : IDisposable
{
    private const int Waiting = 0, Sent = 1, Dropped = 2;
    private readonly ExecutionState _state;
    private readonly AttemptStartedRequest _request;
    private readonly ITimer? _timer;
    // Made only when the start is sent (most attempts end before the delay and never need it).
    private TaskCompletionSource<Task>? _sent;
    private int _status;

    public DeferredAttemptStart(ExecutionState state, AttemptStartedRequest request)
    {
        _state = state;
        _request = request;
        var delay = state.Engine.Options.AttemptStartWriteDelay;
        if (delay <= TimeSpan.Zero)
        {
            Send();
        }
        else
        {
            _timer = state.Engine.Time.CreateTimer(static s => ((DeferredAttemptStart)s!).Send(), this, delay, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>At the attempt's end: drops the start write if it was not sent, else waits until it is stored.</summary>
    public async Task SettleAsync()
    {
        if (Interlocked.CompareExchange(ref _status, Dropped, Waiting) == Waiting)
        {
            return;
        }

        var write = await SentWrite.Task.ConfigureAwait(false);
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Logged by Observe; the end write, an upsert, records the attempt anyway.
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        Interlocked.CompareExchange(ref _status, Dropped, Waiting);
    }

    private void Send()
    {
        if (Interlocked.CompareExchange(ref _status, Sent, Waiting) != Waiting)
        {
            return;
        }

        var write = _state.Engine.Steps.RecordAttemptStartedAsync(_request, CancellationToken.None);
        _state.Observe(write);
        SentWrite.TrySetResult(write);
    }

    /// <summary>The start write once sent; whichever of Send and SettleAsync comes first makes it.</summary>
    private TaskCompletionSource<Task> SentWrite =>
        LazyInitializer.EnsureInitialized(ref _sent, static () => new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously));
}
