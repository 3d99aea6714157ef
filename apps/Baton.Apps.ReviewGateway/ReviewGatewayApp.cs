using Baton.Apps.ReviewGateway.Enqueue;
using Baton.Apps.ReviewGateway.Forwarding;
using Baton.Apps.ReviewGateway.Health;
using Baton.Hosting;
using Baton.Server.Auth;
using Baton.Server.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Baton.Apps.ReviewGateway;

/// <summary>
/// Seed 002, the Argus job-enqueue orchestrator, on Baton: <c>POST /enqueue</c> and <c>GET /health</c>
/// on its own listener (<c>PORT</c>, default 8080), each accepted job stored as a
/// <c>review-forward</c> run that forwards it to <c>WORKER_NODE_URL</c>. Switched on with
/// <c>Baton:Apps:ReviewGateway:Enabled=true</c>.
/// </summary>
public sealed class ReviewGatewayApp : IBatonApp
{
    public string Name => "ReviewGateway";

    public int? OwnPort(IConfiguration configuration) => GatewayOptions.Read(configuration).Port;

    public string PortSettings => "PORT";

    public void ConfigureServices(WebApplicationBuilder builder, BatonBuilder baton)
    {
        var configuration = builder.Configuration;
        builder.Logging.AddFilter(typeof(ReviewGatewayApp).Namespace, GatewayOptions.Read(configuration).LogLevel);
        var services = builder.Services;
        services.AddOptions<GatewayOptions>().Configure(o => GatewayOptions.Bind(o, configuration)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<GatewayOptions>>().Value);
        services.AddSingleton<WorkerNodeClient>();
        services.AddSingleton<GatewayClock>();
        services.AddSingleton<EnqueueEndpoint>();
        services.AddSingleton<GatewayHealthEndpoint>();
        baton.AddWorkflow<ForwardJobWorkflow>(ForwardJobWorkflow.Name, o =>
        {
            o.Description = "Forwards one accepted review job to the worker node (seed 002)";
            o.ConcurrencyKeyFrom<ForwardJob>(job => job.JobId);
            o.ConcurrencyLimit = 1;
        });
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        var enqueue = endpoints.ServiceProvider.GetRequiredService<EnqueueEndpoint>();
        var health = endpoints.ServiceProvider.GetRequiredService<GatewayHealthEndpoint>();
        var time = endpoints.ServiceProvider.GetRequiredService<TimeProvider>();
        // The hot route: run from routing, without the authentication and authorization middlewares (the seed has no auth).
        endpoints.MapPost("/enqueue", enqueue.HandleAsync).AllowWithoutAdminKeyFromRouting();
        // HEAD too, as probes send it (Kestrel sends the headers and drops the body).
        endpoints.MapMethods("/health", ["GET", "HEAD"], health.HandleAsync).AllowWithoutAdminKey();
        // Any other method on a path that exists (TRACE, a made-up FOO included) is a 405 naming the allowed ones
        // (RFC 9110 §15.5.6), not the fallback's 404: a route for every method, after the real one (order 1).
        MethodNotAllowed("/enqueue", "POST", "method not allowed; use POST /enqueue");
        MethodNotAllowed("/health", "GET, HEAD", "method not allowed; use GET /health");
        // Every path, files too: MapFallback's default pattern ({*path:nonfile}) leaves /favicon.ico or /robots.txt to the
        // server's admin-key check, a 401 on the seed's open port. The catch-all is the last route, so it costs /enqueue nothing.
        endpoints.MapFallback("{**path}", (HttpContext context) =>
            GatewayResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, "not found", time.GetUtcNow()))
            .AllowWithoutAdminKey();

        void MethodNotAllowed(string path, string allow, string message) =>
            endpoints.Map(path, (HttpContext context) =>
            {
                context.Response.Headers.Allow = allow;
                return GatewayResponses.WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, message, time.GetUtcNow());
            }).WithOrder(1).AllowWithoutAdminKey();

        var logger = endpoints.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger<ReviewGatewayApp>();
        var options = endpoints.ServiceProvider.GetRequiredService<GatewayOptions>();
        Log.Started(logger, options.Port, options.WorkerUrl);
    }
}
