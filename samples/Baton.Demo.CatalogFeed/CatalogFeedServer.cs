using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Baton.Demo.CatalogFeed;

/// <summary>
/// A MediPim-like product feed: <c>POST /v4/products/stream</c> with Basic auth answers the synthetic
/// catalog as NDJSON, streamed line by line (never the whole catalog in memory), with Range support and
/// the faults set in <see cref="Options"/>. Start one in-process with <see cref="StartAsync"/>, or run
/// <c>Baton.Simulators catalog-feed --port N --products N</c>.
/// </summary>
public sealed class CatalogFeedServer : IAsyncDisposable
{
    public const string Path = "/v4/products/stream";

    private const int RenderedWriteBytes = 256 * 1024;

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Lazy<Index>> _indexes = new();
    private int _requests;
    private int _cuts;

    private CatalogFeedServer(WebApplication app, CatalogFeedOptions options)
    {
        _app = app;
        Options = options;
    }

    public CatalogFeedOptions Options { get; }

    /// <summary>Requests answered so far (all of them, failed ones included).</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Range headers seen, in order (null for a request without one).</summary>
    public ConcurrentQueue<string?> RangeHeaders { get; } = new();

    /// <summary>The feed's URL (<c>http://127.0.0.1:port/v4/products/stream</c>).</summary>
    public Uri Url => new(new Uri(_app.Urls.First()), Path);

    /// <summary>Starts a feed on <paramref name="port"/> of 127.0.0.1 (0: a free port).</summary>
    public static async Task<CatalogFeedServer> StartAsync(CatalogFeedOptions options, int port = 0, string host = "127.0.0.1", CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(string.Create(CultureInfo.InvariantCulture, $"http://{host}:{port}"));
        var app = builder.Build();
        var server = new CatalogFeedServer(app, options);
        app.MapPost(Path, server.ServeAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return server;
    }

    /// <summary>The whole body for the current options (or <paramref name="day"/>), for checks in tests. Small catalogs only.</summary>
    public byte[] BodyBytes(int? day = null)
    {
        var spec = Options.ToSpec(day);
        var index = GetIndex(spec);
        using var stream = new MemoryStream();
        for (var i = 0; i < index.Layout.Length; i++)
        {
            stream.Write(CatalogGenerator.Line(spec, index.Layout, i));
        }

        return stream.ToArray();
    }

    /// <summary>Total body length for the current options (or <paramref name="day"/>).</summary>
    public long BodyLength(int? day = null) => GetIndex(Options.ToSpec(day)).Offsets[^1];

    private async Task ServeAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var number = Interlocked.Increment(ref _requests);
        RangeHeaders.Enqueue(request.Headers.Range.Count == 0 ? null : request.Headers.Range.ToString());

        if (number <= Options.FailFirst)
        {
            await FailAsync(response, Options.FailWith).ConfigureAwait(false);
            return;
        }

        if (!Authorized(request))
        {
            response.StatusCode = StatusCodes.Status401Unauthorized;
            response.Headers.WWWAuthenticate = "Basic realm=\"medipim\"";
            await response.WriteAsJsonAsync(new { error = "Unauthorized" }).ConfigureAwait(false);
            return;
        }

        int? day = int.TryParse(request.Query["day"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var d) ? d : null;
        var spec = Options.ToSpec(day);
        var index = GetIndex(spec);
        var total = index.Offsets[^1];
        long start = 0;
        var etag = !Options.ETag ? null
            : Options.ETagPerResponse ? string.Create(CultureInfo.InvariantCulture, $"{ETagOf(spec)[..^1]}-{number}\"") : ETagOf(spec);
        if (etag is not null)
        {
            response.Headers.ETag = etag;
        }

        var ifRange = request.Headers.IfRange.ToString();
        var rangeStillValid = ifRange.Length == 0 || (etag is not null && string.Equals(ifRange, etag, StringComparison.Ordinal));
        if (Options.SupportsRange && rangeStillValid && TryParseRange(request.Headers.Range.ToString(), out var from)
            && !(from == 0 && Options.WholeForRangeFromZero))
        {
            if (from >= total && total > 0)
            {
                response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes */{total}");
                return;
            }

            start = Options.MisalignRanges ? Math.Min(from + 1, total - 1) : from;
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {start}-{total - 1}/{total}");
        }

        if (Options.SupportsRange)
        {
            response.Headers.AcceptRanges = "bytes";
        }

        response.ContentType = "application/x-ndjson";
        response.ContentLength = total - start;
        await WriteBodyAsync(context, spec, index, start, total).ConfigureAwait(false);
    }

    private async Task WriteBodyAsync(HttpContext context, CatalogSpec spec, Index index, long start, long total)
    {
        var cutAt = Options.CutAtByte is { } cut && cut > start && cut < total && Volatile.Read(ref _cuts) < Options.CutTimes ? cut : (long?)null;
        var throttle = Options.BytesPerSecond;
        var body = context.Response.Body;
        if (index.Body is { } rendered && cutAt is null && throttle <= 0)
        {
            // A prerendered body without faults goes out as slices of itself: no copy per line on the feed's side,
            // which shares the machine's cores with the sync in the benchmark.
            for (var at = start; at < total; at += RenderedWriteBytes)
            {
                await body.WriteAsync(rendered.AsMemory((int)at, (int)Math.Min(RenderedWriteBytes, total - at)), context.RequestAborted).ConfigureAwait(false);
            }

            return;
        }

        var line = Array.BinarySearch(index.Offsets, start);
        line = line >= 0 ? line : ~line - 1;
        var position = start;
        var pending = new MemoryStream(128 * 1024);
        var started = DateTime.UtcNow;
        var sent = 0L;
        for (; line < index.Layout.Length; line++)
        {
            var bytes = index.Line(spec, line);
            var skip = (int)(position - index.Offsets[line]);
            var take = bytes.Length - skip;
            if (cutAt is { } c && position + take >= c)
            {
                pending.Write(bytes.Span.Slice(skip, (int)(c - position)));
                await body.WriteAsync(pending.GetBuffer().AsMemory(0, (int)pending.Length), context.RequestAborted).ConfigureAwait(false);
                await body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
                if (Options.BeforeCut is { } beforeCut)
                {
                    await beforeCut().WaitAsync(context.RequestAborted).ConfigureAwait(false);
                }

                Interlocked.Increment(ref _cuts);
                Options.AfterCut?.Invoke(Options);
                context.Abort();
                return;
            }

            pending.Write(bytes.Span[skip..]);
            position += take;
            if (pending.Length >= 64 * 1024)
            {
                await body.WriteAsync(pending.GetBuffer().AsMemory(0, (int)pending.Length), context.RequestAborted).ConfigureAwait(false);
                sent += pending.Length;
                pending.SetLength(0);
                if (throttle > 0)
                {
                    var due = started + TimeSpan.FromSeconds((double)sent / throttle);
                    var wait = due - DateTime.UtcNow;
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, context.RequestAborted).ConfigureAwait(false);
                    }
                }
            }
        }

        await body.WriteAsync(pending.GetBuffer().AsMemory(0, (int)pending.Length), context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task FailAsync(HttpResponse response, FeedFailure failure)
    {
        switch (failure)
        {
            case FeedFailure.Status401:
                response.StatusCode = StatusCodes.Status401Unauthorized;
                await response.WriteAsJsonAsync(new { error = "Unauthorized" }).ConfigureAwait(false);
                break;
            case FeedFailure.CloseWithoutAnswer:
                response.HttpContext.Abort();
                break;
            case FeedFailure.Status503RetryAfter:
                response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                response.Headers.RetryAfter = "1";
                await response.WriteAsJsonAsync(new { error = "Service Unavailable" }).ConfigureAwait(false);
                break;
            case FeedFailure.Html:
                response.StatusCode = StatusCodes.Status200OK;
                response.ContentType = "text/html; charset=utf-8";
                await response.WriteAsync("<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>We'll be back soon</h1></body></html>").ConfigureAwait(false);
                break;
            default:
                response.StatusCode = StatusCodes.Status500InternalServerError;
                await response.WriteAsJsonAsync(new { error = "Internal Server Error" }).ConfigureAwait(false);
                break;
        }
    }

    private bool Authorized(HttpRequest request)
    {
        if (!AuthenticationHeaderValue.TryParse(request.Headers.Authorization.ToString(), out var header)
            || !string.Equals(header.Scheme, "Basic", StringComparison.OrdinalIgnoreCase) || header.Parameter is null)
        {
            return false;
        }

        try
        {
            var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header.Parameter));
            return pair == $"{Options.User}:{Options.Password}";
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>A strong validator of the body the spec gives: the same bytes, the same tag.</summary>
    private static string ETagOf(CatalogSpec spec) =>
        $"\"{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(spec.Key)))[..32]}\"";

    private static bool TryParseRange(string header, out long from)
    {
        from = 0;
        if (!header.StartsWith("bytes=", StringComparison.Ordinal) || !header.EndsWith('-'))
        {
            return false;
        }

        return long.TryParse(header.AsSpan(6, header.Length - 7), NumberStyles.None, CultureInfo.InvariantCulture, out from);
    }

    private Index GetIndex(CatalogSpec spec) =>
        _indexes.GetOrAdd(spec.Key, _ => new Lazy<Index>(() => Index.Build(spec, Options.Prerender))).Value;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Runs a feed until Ctrl+C: <c>catalog-feed [--port 5080] [--products 20000] [--seed 42] [--day 1] [--change-fraction 0.01] [--user U] [--password P] [--prerender true]</c>.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var options = new CatalogFeedOptions();
        var port = 5080;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = args[i + 1];
            switch (args[i])
            {
                case "--port": port = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--products": options.Products = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--seed": options.Seed = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--day": options.Day = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--change-fraction": options.ChangeFraction = double.Parse(value, CultureInfo.InvariantCulture); break;
                case "--user": options.User = value; break;
                case "--password": options.Password = value; break;
                case "--prerender": options.Prerender = bool.Parse(value); break;
                default:
                    await Console.Error.WriteLineAsync($"unknown option {args[i]}").ConfigureAwait(false);
                    return 2;
            }
        }

        await using var server = await StartAsync(options, port).ConfigureAwait(false);
        // Lays the catalog out before announcing it, so the first request streams at full speed.
        var length = server.BodyLength();
        await Console.Out.WriteLineAsync($"catalog-feed: {options.Products} products, {length} bytes (seed {options.Seed}, day {options.Day}) at POST {server.Url}").ConfigureAwait(false);
        var stop = new TaskCompletionSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.TrySetResult();
        };
        using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.TrySetResult();
        });
        await stop.Task.ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// Line layout and each line's start offset (Offsets[^1] is the body length); with <c>prerender</c>
    /// also the whole body, rendered once, so serving it costs a copy instead of generating every line again.
    /// </summary>
    private sealed record Index(int[] Layout, long[] Offsets, byte[]? Body)
    {
        public static Index Build(CatalogSpec spec, bool prerender)
        {
            var layout = CatalogGenerator.Layout(spec);
            var offsets = new long[layout.Length + 1];
            using var body = prerender ? new MemoryStream() : null;
            for (var i = 0; i < layout.Length; i++)
            {
                var line = CatalogGenerator.Line(spec, layout, i);
                offsets[i + 1] = offsets[i] + line.Length;
                body?.Write(line);
            }

            return new Index(layout, offsets, body?.ToArray());
        }

        public ReadOnlyMemory<byte> Line(CatalogSpec spec, int line) =>
            Body is { } body
                ? body.AsMemory((int)Offsets[line], (int)(Offsets[line + 1] - Offsets[line]))
                : CatalogGenerator.Line(spec, Layout, line);
    }
}
