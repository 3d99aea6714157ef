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
    private readonly TaskCompletionSource<Task> _sent = new(TaskCreationOptions.RunContinuationsAsynchronously);
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

        var write = await _sent.Task.ConfigureAwait(false);
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
        _sent.TrySetResult(write);
    }
}
