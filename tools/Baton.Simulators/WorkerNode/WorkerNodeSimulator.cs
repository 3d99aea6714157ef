using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Baton.Simulators.WorkerNode;

/// <summary>
/// A stand-in for seed 002's worker node on 127.0.0.1. <c>POST /enqueue</c> takes <c>{"placeId"}</c> with
/// an <c>Idempotency-Key</c> header, records it and drops duplicates by job id (202 new, 200 duplicate).
/// Control: <c>POST /control/mode?mode=up|failing|reset&amp;status=503&amp;delayMs=0&amp;failNext=0</c>,
/// <c>GET /control/stats</c>, <c>GET /control/jobs</c> (one <c>jobId count</c> line each),
/// <c>POST /control/reset</c>. <c>POST /noop</c> stores nothing (the benchmark's minimal endpoint).
/// For "connection refused", stop it (<see cref="StopAsync"/>) and start it again on the same port:
/// the recorded state is kept.
/// </summary>
public sealed class WorkerNodeSimulator : IAsyncDisposable
{
    private static readonly byte[] NoopBody = """{"status":"enqueued"}"""u8.ToArray();
    private WebApplication? _app;

    private WorkerNodeSimulator(int port, WorkerNodeState state)
    {
        Port = port;
        State = state;
    }

    public int Port { get; }

    public WorkerNodeState State { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    public bool IsRunning => _app is not null;

    /// <summary>Starts the stand-in on 127.0.0.1:<paramref name="port"/> (a fixed port, so it can be stopped and started again there).</summary>
    public static async Task<WorkerNodeSimulator> StartAsync(int port, WorkerNodeState? state = null, CancellationToken cancellationToken = default)
    {
        var simulator = new WorkerNodeSimulator(port, state ?? new WorkerNodeState());
        await simulator.StartListeningAsync(cancellationToken).ConfigureAwait(false);
        return simulator;
    }

    /// <summary>A stopped stand-in that will listen on <paramref name="port"/> when started (the worker is "down" from the start).</summary>
    public static WorkerNodeSimulator CreateStopped(int port, WorkerNodeState? state = null) => new(port, state ?? new WorkerNodeState());

    public async Task StartListeningAsync(CancellationToken cancellationToken = default)
    {
        if (_app is not null)
        {
            return;
        }

        var app = Build(Port, State);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app = app;
    }

    /// <summary>Stops listening: connections are refused until <see cref="StartListeningAsync"/>.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync(cancellationToken).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    /// <summary>Builds the stand-in's web application on 127.0.0.1:<paramref name="port"/>.</summary>
    public static WebApplication Build(int port, WorkerNodeState state, string[]? args = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"));
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        builder.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        var app = builder.Build();

        app.MapPost("/enqueue", (HttpContext context) => EnqueueAsync(context, state));
        app.MapPost("/noop", async (HttpContext context) =>
        {
            // Reads the body like a real endpoint would, stores nothing.
            await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted).ConfigureAwait(false);
            context.Response.StatusCode = StatusCodes.Status202Accepted;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(NoopBody, context.RequestAborted).ConfigureAwait(false);
        });
        app.MapGet("/health", () => Results.Json(new { status = "healthy", service = "worker-node-simulator" }));
        app.MapPost("/control/mode", (HttpContext context) =>
        {
            var query = context.Request.Query;
            if (query["mode"].ToString() is { Length: > 0 } mode)
            {
                if (!Enum.TryParse<WorkerNodeMode>(mode, ignoreCase: true, out var parsed))
                {
                    return Results.BadRequest(new { error = $"mode '{mode}' must be up, failing or reset" });
                }

                state.Mode = parsed;
            }

            if (int.TryParse(query["status"], CultureInfo.InvariantCulture, out var status))
            {
                state.FailStatus = status;
            }

            if (int.TryParse(query["delayMs"], CultureInfo.InvariantCulture, out var delay))
            {
                state.Delay = TimeSpan.FromMilliseconds(delay);
            }

            if (int.TryParse(query["failNext"], CultureInfo.InvariantCulture, out var failNext))
            {
                state.FailNext(failNext);
            }

            return Results.Json(new { mode = state.Mode.ToString().ToLowerInvariant(), status = state.FailStatus, delayMs = state.Delay.TotalMilliseconds });
        });
        app.MapGet("/control/stats", () => Results.Json(new
        {
            received = state.Received,
            unique = state.Unique,
            duplicates = state.Duplicates,
            refused = state.Refused,
            withoutKey = state.WithoutKey,
            mode = state.Mode.ToString().ToLowerInvariant(),
        }));
        app.MapGet("/control/jobs", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/plain";
            await using var writer = new StreamWriter(context.Response.Body);
            foreach (var (jobId, count) in state.Counts)
            {
                await writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{jobId} {count}")).ConfigureAwait(false);
            }
        });
        app.MapPost("/control/reset", () =>
        {
            state.Reset();
            return Results.NoContent();
        });
        return app;
    }

    private static async Task EnqueueAsync(HttpContext context, WorkerNodeState state)
    {
        state.CountReceived();
        if (state.Delay > TimeSpan.Zero)
        {
            await Task.Delay(state.Delay, context.RequestAborted).ConfigureAwait(false);
        }

        if (state.Mode == WorkerNodeMode.Reset)
        {
            context.Abort();
            return;
        }

        if (state.ShouldFail())
        {
            context.Response.StatusCode = state.FailStatus;
            await context.Response.WriteAsJsonAsync(new { error = "worker unavailable (simulated)" }, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var placeId = await ReadPlaceIdAsync(context.Request.BodyReader, context.RequestAborted).ConfigureAwait(false);
        if (string.IsNullOrEmpty(placeId))
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsJsonAsync(new { error = "placeId is required" }, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var jobId = context.Request.Headers["Idempotency-Key"].ToString() is { Length: > 0 } key ? key : null;
        var correlationId = context.Request.Headers["X-Correlation-ID"].ToString() is { Length: > 0 } correlation ? correlation : null;
        var isNew = state.Record(jobId, placeId, correlationId);
        context.Response.StatusCode = isNew ? StatusCodes.Status202Accepted : StatusCodes.Status200OK;
        context.Response.ContentType = "application/json; charset=utf-8";
        WriteAnswer(context.Response.BodyWriter, isNew ? "queued" : "duplicate", jobId ?? "", placeId);
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// The body's top-level <c>placeId</c> string, or null (not a JSON object, no such string, or not JSON at all). Read
    /// from the request's pipe and the JSON reader rather than a <see cref="JsonDocument"/> and the serializer: the stand-in
    /// shares the benchmark's two cores with the gateway, so its cost per forward is the gateway's loss.
    /// </summary>
    private static async Task<string?> ReadPlaceIdAsync(PipeReader body, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await body.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (read.IsCompleted || read.IsCanceled)
            {
                var placeId = PlaceIdOf(read.Buffer);
                body.AdvanceTo(read.Buffer.End);
                return placeId;
            }

            body.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    private static string? PlaceIdOf(ReadOnlySequence<byte> json)
    {
        string? placeId = null;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isPlaceId = reader.ValueTextEquals("placeId"u8);
                reader.Read();
                if (isPlaceId && reader.TokenType == JsonTokenType.String)
                {
                    placeId = reader.GetString(); // the last one wins, as with JsonDocument
                }
                else
                {
                    reader.Skip();
                }
            }

            // The whole body must be JSON: nothing but whitespace after the object.
            return reader.Read() ? null : placeId;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void WriteAnswer(IBufferWriter<byte> output, string status, string jobId, string placeId)
    {
        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        json.WriteString("status"u8, status);
        json.WriteString("jobId"u8, jobId);
        json.WriteString("placeId"u8, placeId);
        json.WriteEndObject();
    }

    /// <summary>The command line: <c>worker-node [--port 3000]</c>; runs until Ctrl+C or SIGTERM.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var port = 3000;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "--port" && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var p) && p is > 0 and <= 65535)
            {
                port = p;
                i++;
            }
            else
            {
                await Console.Error.WriteLineAsync($"worker-node: unknown or bad argument '{args[i]}'; usage: worker-node [--port 3000]").ConfigureAwait(false);
                return 2;
            }
        }

        var app = Build(port, new WorkerNodeState());
        await Console.Out.WriteLineAsync($"worker-node simulator listening on http://127.0.0.1:{port}").ConfigureAwait(false);
        await app.RunAsync().ConfigureAwait(false);
        return 0;
    }
}
