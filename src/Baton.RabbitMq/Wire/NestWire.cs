using System.Buffers;
using System.Text.Json;

namespace Baton.RabbitMq.Wire;

/// <summary>A parsed NestJS packet: <c>{"pattern","data","id"}</c>; <see cref="Id"/> is null for an event.</summary>
internal sealed record NestPacket(string Route, JsonElement Data, string? Id);

/// <summary>Reads requests and writes replies in the NestJS RMQ wire format.</summary>
internal static class NestWire
{
    /// <summary>The error text NestJS answers for a pattern without a handler (NO_MESSAGE_HANDLER in @nestjs/microservices).</summary>
    public const string NoHandlerMessage = "There is no matching message handler defined in the remote service.";

    /// <summary>The message NestJS's exception filter gives any error that is not an RpcException.</summary>
    public const string InternalErrorMessage = "Internal server error";

    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    /// <summary>Parses a request or event body; null with <paramref name="error"/> when it is not one.</summary>
    public static NestPacket? Parse(ReadOnlyMemory<byte> body, out string? error)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            // JSON nested past the parser's limit is JSON all the same: say which limit it hit.
            error = ex.Message.Contains("maximum configured depth", StringComparison.Ordinal)
                ? "The message is JSON nested deeper than 64 levels, which the server does not read."
                : "The message is not JSON.";
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "The message is not a JSON object.";
                return null;
            }

            if (!root.TryGetProperty("pattern", out var pattern) || pattern.ValueKind is not (JsonValueKind.String or JsonValueKind.Object))
            {
                error = "The message has no pattern (a string or an object).";
                return null;
            }

            string? id = null;
            if (root.TryGetProperty("id", out var idElement) && idElement.ValueKind != JsonValueKind.Null)
            {
                var text = idElement.ValueKind == JsonValueKind.String ? TextOf(idElement) : "";
                if (text is not { Length: > 0 })
                {
                    error = text is null ? UnreadableText("id") : "The message's id is not a non-empty string.";
                    return null;
                }

                id = text;
            }

            string route;
            try
            {
                route = NestPatterns.Route(pattern);
            }
            catch (InvalidOperationException)
            {
                error = UnreadableText("pattern");
                return null;
            }

            var data = root.TryGetProperty("data", out var d) ? d.Clone() : default;
            error = null;
            return new NestPacket(route, data, id);
        }
    }

    // A JSON string escaping half a UTF-16 pair ("\ud800") is valid JSON that no .NET string can hold: GetString throws
    // InvalidOperationException. Before (a review): that reached the consumer as an outage, and the message was requeued for ever.
    private static string UnreadableText(string field) => $"The message's {field} is not valid text (it holds half a UTF-16 surrogate pair).";

    /// <summary>The string <paramref name="element"/> holds, or null when it escapes a lone surrogate.</summary>
    private static string? TextOf(JsonElement element)
    {
        try
        {
            return element.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The longest AMQP short string, which a correlation id property is: 255 bytes of UTF-8.</summary>
    public const int MaxCorrelationIdBytes = 255;

    /// <summary>
    /// <paramref name="correlationId"/> as a reply's correlation id property: null when it does not fit in one (a request's
    /// body id can be 200 characters of 3 bytes each). The reply then goes without one, as NestJS sends it for a request
    /// without the property; its body still carries the id. Before (a review): encoding the property threw, and the request
    /// was requeued for ever, or a run's reply was retried for ever.
    /// </summary>
    public static string? ReplyCorrelationId(string? correlationId) =>
        correlationId is not null && System.Text.Encoding.UTF8.GetByteCount(correlationId) <= MaxCorrelationIdBytes ? correlationId : null;

    /// <summary>Reads the id of a body that is otherwise not a valid request, if it has one.</summary>
    public static string? TryReadId(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
                ? TextOf(id)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary><c>{"err":null,"response":...,"isDisposed":true,"id":...}</c>.</summary>
    public static byte[] Reply(string id, JsonElement? response) => Write(id, err: null, response, status: false);

    /// <summary><c>{"err":...,"isDisposed":true,"id":...}</c>.</summary>
    public static byte[] ErrorReply(string id, JsonElement err) => Write(id, err, response: null, status: false);

    /// <summary><c>{"err":{"status":"error","message":...},"isDisposed":true,"id":...}</c>.</summary>
    public static byte[] ErrorReply(string id, string message) => ErrorReply(id, ErrorObject(message));

    /// <summary>NestJS's reply to a pattern it has no handler for: <c>{"err":"There is no matching...","status":"error",...}</c>.</summary>
    public static byte[] NoHandlerReply(string id) => Write(id, JsonSerializer.SerializeToElement(NoHandlerMessage), response: null, status: true);

    /// <summary><c>{"status":"error","message":...}</c>: how NestJS turns an error message into a reply's err.</summary>
    public static JsonElement ErrorObject(string message) =>
        JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["status"] = "error", ["message"] = message });

    /// <summary><c>{"pattern":...,"data":...,"id":...}</c> (id omitted for an event).</summary>
    public static byte[] Request(string pattern, JsonElement data, string? id)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("pattern");
            WritePattern(writer, pattern);
            writer.WritePropertyName("data");
            if (data.ValueKind == JsonValueKind.Undefined)
            {
                writer.WriteNullValue();
            }
            else
            {
                data.WriteTo(writer);
            }

            if (id is not null)
            {
                writer.WriteString("id", id);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WritePattern(Utf8JsonWriter writer, string pattern)
    {
        // An object pattern given as its JSON text goes on the wire as the object, as NestJS clients send it.
        if (pattern.Length > 1 && pattern[0] == '{')
        {
            try
            {
                using var document = JsonDocument.Parse(pattern);
                document.RootElement.WriteTo(writer);
                return;
            }
            catch (JsonException)
            {
                // Not JSON after all: a plain string pattern.
            }
        }

        writer.WriteStringValue(pattern);
    }

    private static byte[] Write(string id, JsonElement? err, JsonElement? response, bool status)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("err");
            WriteValue(writer, err);
            if (status)
            {
                writer.WriteString("status", "error");
            }
            else if (err is null)
            {
                writer.WritePropertyName("response");
                WriteValue(writer, response);
            }

            writer.WriteBoolean("isDisposed", true);
            writer.WriteString("id", id);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteValue(Utf8JsonWriter writer, JsonElement? value)
    {
        if (value is { ValueKind: not JsonValueKind.Undefined } element)
        {
            element.WriteTo(writer);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}
