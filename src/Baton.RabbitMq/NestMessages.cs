using System.Text.Json;

namespace Baton.RabbitMq;

/// <summary>
/// A NestJS request as a handler sees it: the pattern's route (a string pattern as it is, an object pattern as its
/// sorted-key JSON), the data, the request's id, and where the reply goes.
/// </summary>
public sealed record NestRequest(string Pattern, JsonElement Data, string Id, string? ReplyTo, string? CorrelationId);

/// <summary>A NestJS event (no id, no reply).</summary>
public sealed record NestEvent(string Pattern, JsonElement Data);

/// <summary>
/// An error reply: thrown by a handler to answer <c>{"err": Error}</c>, and thrown by <see cref="INestClient.SendAsync"/>
/// when the remote service answered with an err.
/// </summary>
public sealed class NestRpcException : Exception
{
    public NestRpcException(JsonElement error)
        : base(MessageOf(error)) => Error = error.Clone();

    /// <summary>An error <c>{"status":"error","message":message}</c>, as NestJS's RpcException(string) gives.</summary>
    public NestRpcException(string message)
        : this(Wire.NestWire.ErrorObject(message))
    {
    }

    /// <summary>The reply's err, as JSON.</summary>
    public JsonElement Error { get; }

    private static string MessageOf(JsonElement error) => error.ValueKind switch
    {
        JsonValueKind.String => error.GetString()!,
        JsonValueKind.Object when error.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String => message.GetString()!,
        _ => error.GetRawText(),
    };
}
