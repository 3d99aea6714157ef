using System.Diagnostics.Metrics;
using Baton.Apps.ReviewGateway.Forwarding;
using Baton.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace Baton.Apps.ReviewGateway.Tests.Forwarding;

/// <summary>What the worker node receives for one forward, read by a real Kestrel listener on 127.0.0.1.</summary>
public sealed class WorkerNodeClientTests
{
    [Fact]
    public async Task EnqueueAsync_SendsTheSeedsBodyWithJsonContentTypeAndTheJobHeaders()
    {
        var received = new TaskCompletionSource<(string Method, string Path, string? ContentType, string Body, string? Key, string? Correlation)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var port = Ports.Free();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        await using var app = builder.Build();
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            received.TrySetResult((context.Request.Method, context.Request.Path, context.Request.ContentType, body,
                context.Request.Headers["Idempotency-Key"].ToString(), context.Request.Headers["X-Correlation-ID"].ToString()));
            context.Response.StatusCode = StatusCodes.Status202Accepted;
        });
        await app.StartAsync();
        var options = GatewayOptions.Read(new ConfigurationBuilder()
            .AddInMemoryCollection([new KeyValuePair<string, string?>("WORKER_NODE_URL", $"http://127.0.0.1:{port}")]).Build());
        using var client = new WorkerNodeClient(options);

        var status = await client.EnqueueAsync(new ForwardJob("ChIJN1t_tDeuEmsRUsoyG83frY4", "reviews:ChIJN1t_tDeuEmsRUsoyG83frY4:start"), "corr-7");
        var request = await received.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(202, status);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/enqueue", request.Path);
        Assert.Equal("application/json; charset=utf-8", request.ContentType);
        Assert.Equal("""{"placeId":"ChIJN1t_tDeuEmsRUsoyG83frY4"}""", request.Body);
        Assert.Equal("reviews:ChIJN1t_tDeuEmsRUsoyG83frY4:start", request.Key);
        Assert.Equal("corr-7", request.Correlation);
    }

    [Fact]
    public async Task EnqueueAsync_Forward_RecordsHttpClientRequestDuration()
    {
        var port = Ports.Free();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        await using var app = builder.Build();
        app.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status202Accepted;
            return Task.CompletedTask;
        });
        await app.StartAsync();
        var recorded = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "System.Net.Http" && instrument.Name == "http.client.request.duration")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        // Only this test's forward: other tests in the process use HttpClient too.
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            int? serverPort = null;
            int? status = null;
            foreach (var tag in tags)
            {
                serverPort = tag.Key == "server.port" ? Convert.ToInt32(tag.Value, System.Globalization.CultureInfo.InvariantCulture) : serverPort;
                status = tag.Key == "http.response.status_code" ? Convert.ToInt32(tag.Value, System.Globalization.CultureInfo.InvariantCulture) : status;
            }

            if (serverPort == port && status is { } code)
            {
                recorded.TrySetResult(code);
            }
        });
        listener.Start();
        var options = GatewayOptions.Read(new ConfigurationBuilder()
            .AddInMemoryCollection([new KeyValuePair<string, string?>("WORKER_NODE_URL", $"http://127.0.0.1:{port}")]).Build());
        using var client = new WorkerNodeClient(options);

        await client.EnqueueAsync(new ForwardJob("p1", "reviews:p1:start"), correlationId: null);

        Assert.Equal(202, await recorded.Task.WaitAsync(TimeSpan.FromSeconds(30)));
    }
}
