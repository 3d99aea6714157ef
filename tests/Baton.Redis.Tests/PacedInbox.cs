using System.Text.Json;
using Baton.Inbox;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Redis.Tests;

/// <summary>
/// The engine's inbox, holding every start for a fixed time first and, once <c>holdAfter</c> items were taken, holding
/// every further start until <see cref="Release"/>: consumption tests that cut a list mid-way (SIGKILL of the node or of
/// Redis) use the hold so the list still has items when they cut, however fast the machine is and however slowly the test
/// polls. Unpaced and unheld, a fast machine moved 10,000 items into runs between two polls of a test (CI, stop 21); a pace
/// alone only bounds the rate, so a poll delayed by a loaded machine could still come after the end. Compiled into the
/// crash host too.
/// </summary>
internal sealed class PacedInbox(IBatonInbox inner, TimeSpan pace, int holdAfter) : IBatonInbox
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _taken;

    /// <summary>
    /// Replaces the registered <see cref="IBatonInbox"/> with one paced by <paramref name="pace"/> that holds every start
    /// after the first <paramref name="holdAfter"/> items (the default: never).
    /// </summary>
    public static void Replace(IServiceCollection services, TimeSpan pace, int holdAfter = int.MaxValue)
    {
        var registered = services.Single(d => d.ServiceType == typeof(IBatonInbox));
        var type = registered.ImplementationType
            ?? throw new InvalidOperationException("the inbox is expected to be registered by type");
        services.Remove(registered);
        services.AddSingleton<IBatonInbox>(sp => new PacedInbox((IBatonInbox)ActivatorUtilities.CreateInstance(sp, type), pace, holdAfter));
    }

    /// <summary>Lets the held starts (and every later one) through.</summary>
    public void Release() => _released.TrySetResult();

    public async Task<InboxResult> AcceptAsync(InboxMessage message, CancellationToken cancellationToken = default)
    {
        await WaitTurnAsync(1, cancellationToken);
        return await inner.AcceptAsync(message, cancellationToken);
    }

    public async Task<IReadOnlyList<InboxResult>> AcceptManyAsync(IReadOnlyList<InboxMessage> messages, CancellationToken cancellationToken = default)
    {
        await WaitTurnAsync(messages.Count, cancellationToken);
        return await inner.AcceptManyAsync(messages, cancellationToken);
    }

    public Task<InboxResult> AcceptEventAsync(
        string messageId, string runId, string name, JsonElement? payload, CancellationToken cancellationToken = default) =>
        inner.AcceptEventAsync(messageId, runId, name, payload, cancellationToken);

    private async Task WaitTurnAsync(int items, CancellationToken cancellationToken)
    {
        await Task.Delay(pace, cancellationToken);
        if (Interlocked.Add(ref _taken, items) > holdAfter)
        {
            await _released.Task.WaitAsync(cancellationToken);
        }
    }
}
