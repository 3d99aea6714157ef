using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Baton.Apps.ReviewGateway.Enqueue;

/// <summary>The seed's JSON bodies, written straight to the response (no reflection, no intermediate objects).</summary>
internal static class GatewayResponses
{
    // Relaxed escaping: the messages read as the seed's Go encoder writes them ('-' rather than \u0027-\u0027); the bodies are
    // application/json, never HTML.
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // Where a thread's writer points between answers, so it holds no response.
    private static readonly ArrayBufferWriter<byte> Parked = new(1);

    // One writer per thread, pointed at each answer's body in turn: writing is synchronous, so an answer never shares it.
    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    // The last second formatted: every answer within one second carries the same text, so it is formatted once per second.
    private static FormattedSecond? _lastSecond;

    /// <summary>The seed's timestamp: RFC 3339 in UTC with whole seconds, as Go's <c>time.RFC3339</c> prints it.</summary>
    public static string Timestamp(DateTimeOffset now)
    {
        var second = now.UtcTicks / TimeSpan.TicksPerSecond;
        if (_lastSecond is { } last && last.Second == second)
        {
            return last.Text;
        }

        var text = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        _lastSecond = new FormattedSecond(second, text);
        return text;
    }

    /// <summary><c>{"status":"enqueued","placeId","jobId","timestamp"}</c> plus Baton's <c>runId</c> and <c>duplicate</c>.</summary>
    public static Task WriteEnqueuedAsync(HttpContext context, string placeId, string jobId, string runId, bool duplicate, DateTimeOffset now)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status202Accepted;
        response.ContentType = "application/json";
        var writer = WriterFor(response.BodyWriter);
        try
        {
            writer.WriteStartObject();
            writer.WriteString("status"u8, "enqueued"u8);
            writer.WriteString("placeId"u8, placeId);
            writer.WriteString("jobId"u8, jobId);
            writer.WriteString("timestamp"u8, Timestamp(now));
            writer.WriteString("runId"u8, runId);
            writer.WriteBoolean("duplicate"u8, duplicate);
            writer.WriteEndObject();
            writer.Flush();
        }
        finally
        {
            writer.Reset(Parked);
        }

        return response.BodyWriter.FlushAsync(context.RequestAborted).AsTask();
    }

    /// <summary>The seed's error shape <c>{"status":"error","error","timestamp"}</c>.</summary>
    public static Task WriteErrorAsync(HttpContext context, int statusCode, string error, DateTimeOffset now)
    {
        var response = context.Response;
        response.StatusCode = statusCode;
        response.ContentType = "application/json";
        var writer = WriterFor(response.BodyWriter);
        try
        {
            writer.WriteStartObject();
            writer.WriteString("status"u8, "error"u8);
            writer.WriteString("error"u8, error);
            writer.WriteString("timestamp"u8, Timestamp(now));
            writer.WriteEndObject();
            writer.Flush();
        }
        finally
        {
            writer.Reset(Parked);
        }

        return response.BodyWriter.FlushAsync(context.RequestAborted).AsTask();
    }

    private static Utf8JsonWriter WriterFor(IBufferWriter<byte> body)
    {
        if (t_writer is not { } writer)
        {
            return t_writer = new Utf8JsonWriter(body, WriterOptions);
        }

        writer.Reset(body);
        return writer;
    }

    private sealed record FormattedSecond(long Second, string Text);
}
