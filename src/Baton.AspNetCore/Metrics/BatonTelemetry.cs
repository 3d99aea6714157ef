using System.Diagnostics.Metrics;
using Baton.Diagnostics;
using Baton.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Baton.Server.Metrics;

/// <summary>
/// The server's OpenTelemetry set-up. Metrics always, for <c>/metrics</c> (Prometheus text, names as the README lists
/// them): the engine's meter "Baton", the transports' ("Baton.RabbitMq", "Baton.Redis"), ASP.NET Core, HttpClient, the runtime and Npgsql. Traces (the "Baton" source,
/// ASP.NET Core, HttpClient, Npgsql, RabbitMQ.Client) and logs are exported over OTLP only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is
/// set (with the other standard <c>OTEL_*</c> variables); without it no span is started, so tracing costs nothing.
/// </summary>
internal static class BatonTelemetry
{
    /// <summary>The standard variable (or configuration key) that switches OTLP export on.</summary>
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>
    /// The HTTP meters <c>/metrics</c> carries by default (less <see cref="PerRequestGauges"/>): ASP.NET Core's request
    /// duration, Kestrel's connections, unhandled exceptions, and HttpClient's request and connection durations (the README's
    /// <c>http_server_request_duration_seconds</c>, <c>kestrel_*</c>, <c>http_client_request_duration_seconds</c>). Listed by name instead of <c>AddAspNetCoreInstrumentation()</c>, which also
    /// listens to meters that record several measurements on every request nobody asked for (routing match attempts, the
    /// memory pool's rents, authentication and authorization attempts) and wraps the pipeline in its own middleware.
    /// </summary>
    internal static readonly string[] HttpMeters =
        ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Diagnostics", "System.Net.Http"];

    /// <summary>
    /// Instruments of <see cref="HttpMeters"/> dropped unless <c>BatonApiOptions.DetailedHttpMetrics</c> is set: each is recorded
    /// twice per request (up and down, or idle and active) with its own tag set, and together they cost more than the documented
    /// request-duration histograms they sit beside (the gateway's live path: ~1.5 µs of server CPU per job).
    /// </summary>
    internal static readonly HashSet<string> PerRequestGauges =
        ["http.server.active_requests", "http.client.active_requests", "http.client.open_connections", "http.client.request.time_in_queue"];

    /// <summary>With <c>BatonApiOptions.DetailedHttpMetrics</c>: <see cref="HttpMeters"/> and the per-request meters left out by default.</summary>
    internal static readonly string[] DetailedHttpMeters =
    [
        .. HttpMeters, "Microsoft.AspNetCore.Routing", "Microsoft.AspNetCore.MemoryPool", "Microsoft.AspNetCore.Authentication",
        "Microsoft.AspNetCore.Authorization", "Microsoft.AspNetCore.RateLimiting", "Microsoft.AspNetCore.Http.Connections",
        "System.Net.NameResolution",
    ];

    /// <summary>The meters of Baton's transports (<c>Baton.RabbitMq</c>, <c>Baton.Redis</c>): a wildcard, so <c>/metrics</c> carries them in any host that uses them.</summary>
    internal const string TransportMeters = "Baton.*";

    /// <summary>RabbitMQ.Client's activity sources (<c>RabbitMQ.Client.Publisher</c>, <c>RabbitMQ.Client.Subscriber</c>), traced with OTLP on.</summary>
    internal const string RabbitMqClientSources = "RabbitMQ.Client.*";

    /// <summary>Bucket upper bounds of every histogram in seconds (the SDK's defaults are meant for milliseconds).</summary>
    internal static readonly double[] SecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    /// <summary>
    /// The metrics <c>/metrics</c> serves (called by <c>AddBatonServer</c>, so an embedding app's <c>MapBatonMetrics()</c>
    /// works without more set-up): the engine's meter and Npgsql's, ASP.NET Core and HttpClient (<see cref="HttpMeters"/>, or
    /// <see cref="DetailedHttpMeters"/> when <paramref name="detailedHttpMetrics"/> is set) and the runtime, through the
    /// Prometheus exporter, histograms in seconds with <see cref="SecondsBuckets"/>. A host's own
    /// <c>AddOpenTelemetry().WithMetrics(...)</c> adds to the same meter provider.
    /// </summary>
    public static void AddMetrics(IServiceCollection services, bool detailedHttpMetrics = false)
    {
        services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                // "Baton.*": the transports' meters (Baton.RabbitMq, Baton.Redis) by name, without a reference to their packages.
                .AddMeter(BatonMetrics.MeterName, TransportMeters, "Npgsql")
                .AddMeter(detailedHttpMetrics ? DetailedHttpMeters : HttpMeters)
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter(o =>
                {
                    // Every scrape is fresh: a scrape right after a run sees it.
                    o.ScrapeResponseCacheDurationMilliseconds = 0;
                    o.ScopeInfoEnabled = false;
                    o.TargetInfoEnabled = false;
                }));
        // Views need the host's meter factory, known only once the service provider is built.
        services.ConfigureOpenTelemetryMeterProvider((provider, metrics) =>
        {
            var views = new HostViews(provider.GetRequiredService<IMeterFactory>(), detailedHttpMetrics);
            metrics.AddView(instrument => views.Select(instrument));
        });
    }

    /// <summary>The runnable host's part: the service name "baton" (unless <c>OTEL_SERVICE_NAME</c> is set) and OTLP export when its endpoint is set.</summary>
    public static void AddHostExport(WebApplicationBuilder builder)
    {
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                // OTEL_SERVICE_NAME, when set, names the service instead.
                if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_SERVICE_NAME"]))
                {
                    resource.AddService("baton");
                }
            });
        if (!string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointKey]))
        {
            telemetry
                .WithTracing(tracing => tracing
                    // RabbitMQ.Client creates its spans only for a listener: its deliver span (parent: the sender's traceparent from
                    // the message headers) is what a run started by a broker message continues, and its publish span carries a step's
                    // trace to the next service.
                    .AddSource(BatonDiagnostics.ActivitySourceName, "Npgsql", RabbitMqClientSources)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    // Before the exporter's processor: a secret in a URL (a key as a path segment) is masked as in the logs.
                    .AddProcessor(services => new Baton.Server.Logging.SecretRedactingProcessor(services.GetRequiredService<Baton.Server.Logging.SecretRedactor>())))
                .WithLogging()
                .UseOtlpExporter();
        }
    }

    /// <summary>
    /// One view for every instrument: a meter made by another host's factory in this process (tests run several hosts)
    /// is dropped, so each host's <c>/metrics</c> counts its own work only; so are <see cref="PerRequestGauges"/> unless the
    /// detailed HTTP metrics are on (a dropped instrument is not enabled at all, so nothing records it); histograms in seconds get <see cref="SecondsBuckets"/>.
    /// </summary>
    private sealed class HostViews(IMeterFactory factory, bool detailedHttpMetrics)
    {
        public MetricStreamConfiguration? Select(Instrument instrument)
        {
            if (instrument.Meter.Scope is IMeterFactory other && !ReferenceEquals(other, factory)
                || !detailedHttpMetrics && PerRequestGauges.Contains(instrument.Name))
            {
                return MetricStreamConfiguration.Drop;
            }

            return instrument.Unit == "s" && instrument.GetType().IsGenericType && instrument.GetType().GetGenericTypeDefinition() == typeof(Histogram<>)
                ? new ExplicitBucketHistogramConfiguration { Boundaries = SecondsBuckets }
                : null;
        }
    }
}
