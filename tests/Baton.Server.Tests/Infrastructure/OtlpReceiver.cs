using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Baton.Server.Tests.Infrastructure;

/// <summary>
/// A tiny OTLP/HTTP receiver (Kestrel on 127.0.0.1): keeps the protobuf bodies posted to <c>/v1/traces</c>,
/// <c>/v1/metrics</c> and <c>/v1/logs</c> in arrival order, and answers 200 with an empty body as a collector does.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(string Signal, byte[] Body)> _bodies = new();

    private OtlpReceiver(WebApplication app, int port)
    {
        _app = app;
        Endpoint = $"http://127.0.0.1:{port}";
    }

    /// <summary>What OTEL_EXPORTER_OTLP_ENDPOINT is set to.</summary>
    public string Endpoint { get; }

    public static async Task<OtlpReceiver> StartAsync()
    {
        var port = Ports.Free();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var receiver = new OtlpReceiver(app, port);
        foreach (var signal in new[] { "traces", "metrics", "logs" })
        {
            app.MapPost($"/v1/{signal}", async (HttpContext context) =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body);
                receiver._bodies.Enqueue((signal, body.ToArray()));
                context.Response.ContentType = "application/x-protobuf";
            });
        }

        await app.StartAsync();
        return receiver;
    }

    /// <summary>How many bodies have arrived so far (of every signal).</summary>
    public int Count => _bodies.Count;

    /// <summary>The bodies of <paramref name="signal"/> (traces, metrics, logs), skipping the first <paramref name="skip"/> bodies of any signal.</summary>
    public IReadOnlyList<byte[]> Bodies(string signal, int skip = 0) =>
        [.. _bodies.Skip(skip).Where(b => b.Signal == signal).Select(b => b.Body)];

    /// <summary>Waits until a body of <paramref name="signal"/> after the first <paramref name="skip"/> contains every one of <paramref name="needles"/>.</summary>
    public Task<IReadOnlyList<byte[]>> WaitForAsync(string signal, string what, int skip, params byte[][] needles) =>
        Poll.UntilAsync(
            () => Task.FromResult(Bodies(signal, skip)),
            bodies => needles.All(n => bodies.Any(b => b.AsSpan().IndexOf(n) >= 0)),
            what,
            TimeSpan.FromSeconds(60),
            TimeSpan.FromMilliseconds(100));

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
