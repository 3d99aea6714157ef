using Baton.Apps.BrandInsights.Metrics;
using Baton.Apps.BrandInsights.Trigger;
using Baton.Redis;
using Microsoft.AspNetCore.Http;

namespace Baton.Apps.BrandInsights.Health;

/// <summary>
/// <c>GET /health</c> on <c>HTTP_PORT</c>, in seed 001's shape: <c>{status, orchestratorId, uptime (seconds), redis:
/// {connected}, brands (being processed)}</c>. 200 with <c>"ok"</c> while Redis answers; 503 with <c>"degraded"</c>
/// during an outage (merges wait; nothing is lost), so a load balancer or probe sees it.
/// </summary>
internal sealed class BrandHealthEndpoint(IRedisConnection redis, BrandRegistry registry, BrandInsightsOptions options, TimeProvider time)
{
    private readonly DateTimeOffset _started = time.GetUtcNow();

    public async Task<IResult> HandleAsync()
    {
        var connected = await RedisAnswers.CheckAsync(redis).ConfigureAwait(false);
        var body = new
        {
            status = connected ? "ok" : "degraded",
            orchestratorId = options.OrchestratorId,
            uptime = Math.Round((time.GetUtcNow() - _started).TotalSeconds, 3),
            redis = new { connected },
            brands = registry.Brands,
            timestamp = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
        };
        return Results.Json(body, statusCode: connected ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }
}

/// <summary><c>GET /metrics</c> on <c>PROMETHEUS_PORT</c>: the app's series as Prometheus text.</summary>
internal sealed class BrandMetricsEndpoint(IRedisConnection redis, BrandRegistry registry, BrandMetrics metrics)
{
    public async Task<IResult> HandleAsync() =>
        Results.Text(metrics.Write(registry.Brands, await RedisAnswers.CheckAsync(redis).ConfigureAwait(false)), "text/plain; version=0.0.4; charset=utf-8");
}

/// <summary>
/// Whether Redis answers now: a <c>PING</c> within <see cref="Timeout"/>. The multiplexer's <c>IsConnected</c> is the
/// socket's state only: a Redis that is paused (<c>CLIENT PAUSE</c>), asleep (<c>DEBUG SLEEP</c>) or hung keeps its
/// socket, and <c>/health</c> answered 200 "ok" while no merge could run.
/// </summary>
internal static class RedisAnswers
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    public static async Task<bool> CheckAsync(IRedisConnection redis)
    {
        if (!redis.IsConnected)
        {
            return false;
        }

        try
        {
            await redis.Database.PingAsync().WaitAsync(Timeout).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            return false;
        }
    }
}
