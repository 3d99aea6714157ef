using Baton.Apps.BrandInsights.Health;
using Baton.Apps.BrandInsights.Metrics;
using Baton.Apps.BrandInsights.State;
using Baton.Apps.BrandInsights.Trigger;
using Baton.Apps.BrandInsights.Workflow;
using Baton.Hosting;
using Baton.Nodes;
using Baton.Redis;
using Baton.Server.Auth;
using Baton.Server.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Baton.Apps.BrandInsights;

/// <summary>
/// Seed 001, the RapidQuest "Service 3 orchestrator", on Baton: chunk results that workers push onto
/// <c>result:brand:&lt;brand&gt;:chunks</c> (for the brands of <c>brands:list</c>) are taken by a reliable Redis list
/// trigger, merged per brand by <c>brand-merge</c> runs (one at a time per brand, on every node) exactly once per chunk
/// id, and written to <c>summary:brand:&lt;brand&gt;</c>. <c>GET /health</c> on <c>HTTP_PORT</c> and <c>GET /metrics</c>
/// on <c>PROMETHEUS_PORT</c>. Switched on with <c>Baton:Apps:BrandInsights:Enabled=true</c>.
/// </summary>
public sealed class BrandInsightsApp : IBatonApp
{
    /// <summary>The trigger's name (its metrics tag and log scope).</summary>
    public const string TriggerName = "brand-insights";

    public string Name => "BrandInsights";

    public int? OwnPort(IConfiguration configuration) => BrandInsightsOptions.Read(configuration).HttpPort;

    public IReadOnlyList<int> MorePorts(IConfiguration configuration) => [BrandInsightsOptions.Read(configuration).PrometheusPort];

    public string PortSettings => "HTTP_PORT or PROMETHEUS_PORT";

    public void ConfigureServices(WebApplicationBuilder builder, BatonBuilder baton)
    {
        var configuration = builder.Configuration;
        // The trigger's delegates are set now, before the container exists: they use these instances, registered as they are.
        var options = BrandInsightsOptions.Read(configuration);
        var metrics = new BrandMetrics();
        var registry = new BrandRegistry(metrics);
        builder.Logging.AddFilter(typeof(BrandInsightsApp).Namespace, options.LogLevel);
        var services = builder.Services;
        services.AddOptions<BrandInsightsOptions>().Configure(o => BrandInsightsOptions.Bind(o, configuration)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BrandInsightsOptions>, BrandInsightsOptionsValidator>();
        services.AddSingleton(options);
        services.AddSingleton(metrics);
        services.AddSingleton(registry);
        services.AddSingleton(sp => new BrandStateStore(
            () => sp.GetRequiredService<IRedisConnection>().Database,
            options,
            sp.GetRequiredService<TimeProvider>(),
            metrics,
            sp.GetRequiredService<ILogger<BrandStateStore>>()));
        services.AddSingleton<BrandHealthEndpoint>();
        services.AddSingleton<BrandMetricsEndpoint>();
        services.AddSingleton<Baton.Server.Views.IBrandInsightsView, BrandDashboardView>();

        // A REDIS_URL that does not parse is reported once, by the validator, naming the variable. Before, AddRedis's own
        // exception was reported too, as "app BrandInsights: The Redis URL is not valid ... (Parameter 'configuration')".
        // Without the connection the trigger cannot be resolved, but the validator stops the start before anything is.
        if (BrandInsightsOptionsValidator.RedisUrlProblem(options.RedisUrl) is null)
        {
            baton.AddRedis(options.RedisUrl);
        }
        baton.AddWorkflow<BrandMergeWorkflow>(BrandMergeWorkflow.Name, o =>
        {
            o.Description = "Merges one batch of a brand's chunk results into summary:brand:<brand> (seed 001)";
            o.ConcurrencyKeyFrom<BrandBatch>(batch => batch.Brand);
            o.ConcurrencyLimit = 1;
            o.Retry = options.RetryPolicy;
            o.StepTimeout = options.ChunkFetchTimeout;
        });
        var mapper = new BrandBatchMapper(options, metrics);
        // Before the trigger: stopped after it, so the leases are given back once no chunk is being moved.
        services.AddHostedService<BrandLeaseRelease>();
        baton.AddRedisListTrigger(TriggerName, t =>
        {
            t.DiscoverLists = registry.DiscoverAsync;
            t.DiscoveryInterval = options.BrandRefreshInterval;
            t.MaxConcurrentLists = options.ConcurrencyLimit;
            // A set ORCHESTRATOR_ID names the processing lists; else the engine's node id, which (unlike the seed's
            // random default) stays the same across restarts, so a restarted process takes its own lists back at once.
            t.ConsumerId = options.OrchestratorIdConfigured ? options.OrchestratorId : null;
            // The brand's lease is checked where chunks are moved: once this process gives a brand away it moves none
            // of its chunks, so the next holder's batches cannot be stored before its last one (arrival order kept).
            t.ListLease = key => BrandKeys.BrandOf(key) is { } brand ? BrandLeases.OwnerKey(brand) : null;
            t.BatchSize = options.BatchSize;
            // The mapper checks the size itself (before parsing), so the oversized chunk counts in its brand's failed metric.
            t.MaxItemBytes = 0;
            t.Map = mapper.Map;
            t.DeadLettered = mapper.DeadLettered;
            t.DeadLetterKey = key => BrandKeys.BrandOf(key) is { } brand ? BrandKeys.Failed(brand) : key + ":failed";
        });

        if (options.DemoEnabled ?? builder.Environment.IsDevelopment())
        {
            services.AddHostedService<Demo.BrandDemo>();
        }
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        var services = endpoints.ServiceProvider;
        var options = services.GetRequiredService<BrandInsightsOptions>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger<BrandInsightsApp>();
        var registry = services.GetRequiredService<BrandRegistry>();
        registry.Logger = logger;
        // The leases use the trigger's own consumer id and processing lists (its options, by name): those lists tell when a
        // given-back brand is through.
        registry.Leases = new BrandLeases(
            services.GetRequiredKeyedService<RedisListTriggerOptions>(TriggerName), services.GetRequiredService<IBatonNodes>(),
            options.BrandLeaseTtl, services.GetRequiredService<TimeProvider>());
        var health = services.GetRequiredService<BrandHealthEndpoint>();
        var metrics = services.GetRequiredService<BrandMetricsEndpoint>();
        // GET and HEAD, as Fastify exposes a HEAD route for every GET route.
        endpoints.MapMethods("/health", ["GET", "HEAD"], health.HandleAsync).AllowWithoutAdminKey();
        endpoints.MapMethods("/metrics", ["GET", "HEAD"], metrics.HandleAsync).AllowWithoutAdminKey().OnAppPort(options.PrometheusPort);
        // Anything else on the seed's two ports gets Fastify's own 404 (before: the server's fallback asked for the admin key).
        endpoints.MapFallback(FastifyNotFoundAsync).AllowWithoutAdminKey();
        endpoints.MapFallback(FastifyNotFoundAsync).AllowWithoutAdminKey().OnAppPort(options.PrometheusPort);
        Log.Started(logger, options.OrchestratorId, options.HttpPort, options.PrometheusPort, options.BrandRefreshInterval.TotalSeconds);
    }

    /// <summary>Fastify's default answer to a route it does not have: <c>404 {"message":"Route GET:/x not found","error":"Not Found","statusCode":404}</c>.</summary>
    private static Task FastifyNotFoundAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return context.Response.WriteAsJsonAsync(new
        {
            message = $"Route {context.Request.Method}:{context.Request.Path}{context.Request.QueryString} not found", error = "Not Found", statusCode = 404,
        });
    }
}
