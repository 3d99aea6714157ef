using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.CatalogSync.Tests.Remote;

/// <summary>Stand-ins for the seed's Fetcher and Maintainer (one Kestrel on 127.0.0.1, paths /fetcher/run and /maintainer/run).</summary>
internal sealed class SeedServices : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _maintainerCalls;

    private SeedServices(WebApplication app) => _app = app;

    public int Records { get; set; } = 12_345;

    /// <summary>Maintainer calls that fail with 500 before it answers (counted over all calls).</summary>
    public int MaintainerFailFirst { get; set; }

    public ConcurrentQueue<string> FetcherKeys { get; } = new();

    public ConcurrentQueue<(long Offset, int Limit, string Key)> MaintainerCalls { get; } = new();

    public Uri FetcherUrl => new(new Uri(_app.Urls.First()), "/fetcher/");

    public Uri MaintainerUrl => new(new Uri(_app.Urls.First()), "/maintainer/");

    public static async Task<SeedServices> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var services = new SeedServices(app);
        app.MapPost("/fetcher/run", (HttpContext http) =>
        {
            services.FetcherKeys.Enqueue(http.Request.Headers["X-ADMIN-KEY"].ToString());
            return Results.Json(new { success = true, message = "Fetched", bytes = 600_000_000 });
        });
        app.MapPost("/maintainer/run", async (HttpContext http) =>
        {
            using var body = await JsonDocument.ParseAsync(http.Request.Body);
            var offset = body.RootElement.GetProperty("offset").GetInt64();
            var limit = body.RootElement.GetProperty("limit").GetInt32();
            services.MaintainerCalls.Enqueue((offset, limit, http.Request.Headers["X-ADMIN-KEY"].ToString()));
            if (Interlocked.Increment(ref services._maintainerCalls) <= services.MaintainerFailFirst)
            {
                return Results.Json(new { error = "boom" }, statusCode: 500);
            }

            var processed = Math.Max(0, Math.Min(limit, services.Records - offset));
            return Results.Json(new
            {
                stats = new { processed, inserted = processed / 2, updated = processed / 4, skipped = processed - (processed / 2) - (processed / 4), errors = 0 },
                nextOffset = offset + processed,
                hasMore = offset + processed < services.Records,
            });
        });
        await app.StartAsync();
        return services;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
