using System.Text.Json;
using Baton.Inbox;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Redis.Tests;

/// <summary>
/// The engine's inbox, holding every start for a fixed time first: consumption tests that cut a list mid-way (SIGKILL of
/// the node or of Redis) use it so the list still has items when they cut, however fast the machine is. Unpaced, a
/// fast machine moved 10,000 items into runs between two polls of a test (CI, stop 21). Compiled into the crash host too.
/// </summary>
internal sealed class PacedInbox(IBatonInbox inner, TimeSpan pace) : IBatonInbox
{
    /// <summary>Replaces the registered <see cref="IBatonInbox"/> with one paced by <paramref name="pace"/>.</summary>
    public static void Replace(IServiceCollection services, TimeSpan pace)
    {
        var registered = services.Single(d => d.ServiceType == typeof(IBatonInbox));
        var type = registered.ImplementationType
            ?? throw new InvalidOperationException("the inbox is expected to be registered by type");
        services.Remove(registered);
        services.AddSingleton<IBatonInbox>(sp => new PacedInbox((IBatonInbox)ActivatorUtilities.CreateInstance(sp, type), pace));
    }

    public async Task<InboxResult> AcceptAsync(InboxMessage message, CancellationToken cancellationToken = default)
    {
        await Task.Delay(pace, cancellationToken);
        return await inner.AcceptAsync(message, cancellationToken);
    }

    public async Task<IReadOnlyList<InboxResult>> AcceptManyAsync(IReadOnlyList<InboxMessage> messages, CancellationToken cancellationToken = default)
    {
        await Task.Delay(pace, cancellationToken);
        return await inner.AcceptManyAsync(messages, cancellationToken);
    }

    public Task<InboxResult> AcceptEventAsync(
        string messageId, string runId, string name, JsonElement? payload, CancellationToken cancellationToken = default) =>
        inner.AcceptEventAsync(messageId, runId, name, payload, cancellationToken);
}
