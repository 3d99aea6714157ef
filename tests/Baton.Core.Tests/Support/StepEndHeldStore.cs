using Baton.Storage;

namespace Baton.Core.Tests.Support;

/// <summary>The real step store, except that the end of step <c>key</c> waits until <see cref="Release"/>; <see cref="Entered"/> says it is waiting.</summary>
internal sealed class StepEndHeldStore(string key) : PassThroughStepStore
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Entered => _entered.Task;

    public void Release() => _released.TrySetResult();

    public override async Task<bool> RecordAttemptEndedAsync(AttemptEndedRequest request, CancellationToken cancellationToken = default)
    {
        if (request.StepKey == key)
        {
            _entered.TrySetResult();
            await _released.Task.ConfigureAwait(false);
        }

        return await Inner.RecordAttemptEndedAsync(request, cancellationToken).ConfigureAwait(false);
    }
}
