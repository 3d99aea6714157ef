using System.Text.Json;
using Baton.Apps.ReviewGateway.Enqueue;
using Baton.Apps.ReviewGateway.Forwarding;
using Baton.Runs;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.ReviewGateway.Health;

/// <summary>
/// <c>GET /health</c> on the gateway's listener: the seed's
/// <c>{"status":"healthy","service":"argus-orchestrator","timestamp","uptime","worker_url"}</c> plus
/// <c>store</c> (<c>ok</c> or <c>unreachable</c>) and <c>jobs_pending_forward</c> (runs not yet
/// forwarded). 503 with status <c>unhealthy</c> when the store does not answer, or refuses writes: the gateway cannot
/// accept jobs then. The store's ping and one count through the client.
/// </summary>
internal sealed class GatewayHealthEndpoint(
    IBatonClient client, Baton.Storage.IBatonStore store, TimeProvider time, GatewayOptions options, GatewayClock clock, ILogger<GatewayHealthEndpoint> logger)
{
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(3);
    private static readonly RunStatus[] Unfinished = [RunStatus.Pending, RunStatus.Running, RunStatus.Suspended];

    public async Task HandleAsync(HttpContext context)
    {
        var storeOk = true;
        long pending = 0;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(PingTimeout);
        try
        {
            // The store's own ping first: it also fails while writes fail (a full disk), when a read still answers. Before,
            // the count alone said healthy while every enqueue answered 503.
            await store.PingAsync(timeout.Token).WaitAsync(timeout.Token).ConfigureAwait(false);
            var counts = await client.CountRunsAsync(
                new CountRunsRequest { Workflow = ForwardJobWorkflow.Name, Statuses = Unfinished },
                timeout.Token).ConfigureAwait(false);
            pending = counts.Total;
        }
        catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            storeOk = false;
            Log.StoreUnreachable(logger, ex, ex is OperationCanceledException ? $"no answer within {PingTimeout.TotalSeconds:0} s" : ex.Message);
        }

        var response = context.Response;
        response.StatusCode = storeOk ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        response.ContentType = "application/json";
        using (var writer = new Utf8JsonWriter(response.BodyWriter))
        {
            writer.WriteStartObject();
            writer.WriteString("status", storeOk ? "healthy" : "unhealthy");
            writer.WriteString("service", "argus-orchestrator");
            writer.WriteString("timestamp", GatewayResponses.Timestamp(time.GetUtcNow()));
            writer.WriteString("uptime", GoDuration.Format(clock.Uptime));
            writer.WriteString("worker_url", Baton.Diagnostics.UrlText.WithoutPassword(options.WorkerUrl));
            writer.WriteString("store", storeOk ? "ok" : "unreachable");
            if (storeOk)
            {
                writer.WriteNumber("jobs_pending_forward", pending);
            }

            writer.WriteEndObject();
        }

        await response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}

/// <summary>When the gateway started, for the seed's <c>uptime</c>.</summary>
internal sealed class GatewayClock(TimeProvider time)
{
    private readonly long _started = time.GetTimestamp();

    public TimeSpan Uptime => time.GetElapsedTime(_started);
}
