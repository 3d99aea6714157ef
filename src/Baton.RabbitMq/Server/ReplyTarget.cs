using System.Text.Json;
using System.Text.Json.Serialization;

namespace Baton.RabbitMq.Server;

/// <summary>
/// Where a run's reply goes: the request's <c>replyTo</c> and <c>correlationId</c>, and its NestJS id. Stored with the
/// run as its correlation id (<c>{"nestReplyTo":...,"nestCorrelationId":...}</c>), in the same write that stores the
/// run, so a restarted server finds every run whose caller may still be waiting.
/// </summary>
internal sealed record ReplyTarget(
    [property: JsonPropertyName("nestReplyTo")] string ReplyTo,
    [property: JsonPropertyName("nestCorrelationId")] string CorrelationId)
{
    public string Encode() => JsonSerializer.Serialize(this);

    public static ReplyTarget? Decode(string? correlationId)
    {
        if (correlationId is null || !correlationId.StartsWith("{\"nestReplyTo\"", StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<ReplyTarget>(correlationId) is { ReplyTo.Length: > 0, CorrelationId.Length: > 0 } target ? target : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
