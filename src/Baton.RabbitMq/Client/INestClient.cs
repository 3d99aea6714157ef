namespace Baton.RabbitMq;

/// <summary>
/// A NestJS-compatible client of a remote service's queue (<see cref="BatonRabbitMqExtensions.AddNestClient"/>;
/// resolve it as a keyed service with the client's name).
/// </summary>
public interface INestClient
{
    /// <summary>
    /// Sends <c>{"pattern","data","id"}</c> with <c>replyTo</c> (direct reply-to) and <c>correlationId</c> = id, published
    /// with a publisher confirm, and awaits the reply <c>{"err","response","isDisposed","id"}</c>. Returns the response
    /// (null for a null or absent one). An err throws <see cref="NestRpcException"/>; no reply within
    /// <paramref name="timeout"/> throws <see cref="TimeoutException"/> (a late reply is dropped). A pattern given as the
    /// JSON text of an object (<c>{"cmd":"sum"}</c>) is sent as that object.
    /// </summary>
    Task<System.Text.Json.JsonElement?> SendAsync(string pattern, object? data, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>Publishes the event <c>{"pattern","data"}</c> (persistent) and waits for the broker's confirm.</summary>
    Task EmitAsync(string pattern, object? data, CancellationToken cancellationToken = default);
}
