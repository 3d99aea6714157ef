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
        await using var app = await StartWorkerAsync(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            received.TrySetResult((context.Request.Method, context.Request.Path, context.Request.ContentType, body,
                context.Request.Headers["Idempotency-Key"].ToString(), context.Request.Headers["X-Correlation-ID"].ToString()));
            context.Response.StatusCode = StatusCodes.Status202Accepted;
        });
        var port = new Uri(app.Urls.Single()).Port;
        using var client = ClientFor($"http://127.0.0.1:{port}");

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

    [Theory]
    [InlineData("svc:pa55%40word@", "svc:pa55@word")]
    [InlineData("svc@", "svc:")]
    [InlineData("", null)]
    public async Task EnqueueAsync_WorkerUrlWithUserInfo_SentAsBasicAuthorizationAsTheSeedsGoClientDoes(string userInfo, string? credentials)
    {
        // The seed's Go client (net/http) sends the user info of WORKER_NODE_URL as "Authorization: Basic"; .NET ignores it.
        // Before: nothing was sent, so a worker node behind basic auth answered 401 and every job failed at once as
        // rejected_by_worker, where the seed's gateway delivered them (the README masks that password on /health).
        var received = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartWorkerAsync(context =>
        {
            received.TrySetResult(context.Request.Headers.Authorization.Count == 0 ? null : context.Request.Headers.Authorization.ToString());
            context.Response.StatusCode = StatusCodes.Status202Accepted;
            return Task.CompletedTask;
        });
        var port = new Uri(app.Urls.Single()).Port;
        using var client = ClientFor($"http://{userInfo}127.0.0.1:{port}");

        Assert.Equal(202, await client.EnqueueAsync(new ForwardJob("p1", "reviews:p1:start"), correlationId: null));
        var authorization = await received.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(credentials is null ? null : "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(credentials)), authorization);
    }

    [Fact]
    public async Task EnqueueAsync_RedirectToAnotherOrigin_PostFollowedWithoutTheAuthorization()
    {
        // A 308 to another host or port is followed with the same POST (as the seed's Go client follows it), but the worker
        // URL's credentials stay with the worker URL's origin.
        var received = new TaskCompletionSource<(string Body, string? Authorization, string? Key)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartWorkerAsync(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var authorization = context.Request.Headers.Authorization;
            received.TrySetResult((await reader.ReadToEndAsync(), authorization.Count == 0 ? null : authorization.ToString(), context.Request.Headers["Idempotency-Key"].ToString()));
            context.Response.StatusCode = StatusCodes.Status202Accepted;
        });
        var port = new Uri(app.Urls.Single()).Port;
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var serving = CannedHttpAnswer.ServeAsync(
            listener, $"HTTP/1.1 308 Permanent Redirect\r\nLocation: http://127.0.0.1:{port}/v2/enqueue\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        using var client = ClientFor($"http://svc:pa55word@127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}");

        var status = await client.EnqueueAsync(new ForwardJob("p1", "reviews:p1:start"), correlationId: null);
        var request = await received.Task.WaitAsync(TimeSpan.FromSeconds(30));
        listener.Stop();
        await serving;

        Assert.Equal(202, status);
        Assert.Equal("""{"placeId":"p1"}""", request.Body);
        Assert.Equal("reviews:p1:start", request.Key);
        Assert.Null(request.Authorization);
    }

    [Fact]
    public async Task EnqueueAsync_Worker500WithAHugeBody_ReadsOnlyTheStartOfIt()
    {
        // Before: the error body was read whole (ReadAsStringAsync) to keep its first 200 characters: a worker answering 500
        // with 64 MB made each attempt buffer 64 MB and a 128 MB string (a reviewer's gateway grew from 125 to 470 MB of
        // RSS on one job retrying against a 50 MB error page; 32 forwards at once, or a larger body, end the process).
        const int BodyBytes = 64 * 1024 * 1024;
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var serving = Task.Run(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync();
            var stream = peer.GetStream();
            _ = await stream.ReadAsync(new byte[65536]);
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\nContent-Length: {BodyBytes}\r\n\r\n"));
            var chunk = new byte[64 * 1024];
            Array.Fill(chunk, (byte)'x');
            long written = 0;
            try
            {
                while (written < BodyBytes)
                {
                    await stream.WriteAsync(chunk);
                    written += chunk.Length;
                }
            }
            catch (IOException)
            {
                // The gateway closed the connection: it stopped reading.
            }

            return written;
        });
        using var client = ClientFor($"http://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}");

        var error = await Assert.ThrowsAsync<WorkerUnavailableException>(() => client.EnqueueAsync(new ForwardJob("p1", "reviews:p1:start"), correlationId: null));
        var written = await serving.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.StartsWith("worker node answered 500 Internal Server Error for job reviews:p1:start: xxxx", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("x...", error.Message, StringComparison.Ordinal);
        // What the sockets' buffers and the handler's drain took: far from the whole body.
        Assert.True(written < BodyBytes / 2, $"the worker wrote {written} of {BodyBytes} bytes before the gateway closed the connection");
    }

    [Fact]
    public async Task EnqueueAsync_Forward_RecordsHttpClientRequestDuration()
    {
        await using var app = await StartWorkerAsync(context =>
        {
            context.Response.StatusCode = StatusCodes.Status202Accepted;
            return Task.CompletedTask;
        });
        var port = new Uri(app.Urls.Single()).Port;
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
        using var client = ClientFor($"http://127.0.0.1:{port}");

        await client.EnqueueAsync(new ForwardJob("p1", "reviews:p1:start"), correlationId: null);

        Assert.Equal(202, await recorded.Task.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    /// <summary>A worker node on a free port of 127.0.0.1 answering with <paramref name="handler"/>, started.</summary>
    private static async Task<WebApplication> StartWorkerAsync(RequestDelegate handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{Ports.Free()}");
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync();
        return app;
    }

    /// <summary>The gateway's client of the worker node at <paramref name="workerUrl"/> (<c>WORKER_NODE_URL</c>).</summary>
    private static WorkerNodeClient ClientFor(string workerUrl) =>
        new(GatewayOptions.Read(new ConfigurationBuilder()
            .AddInMemoryCollection([new KeyValuePair<string, string?>("WORKER_NODE_URL", workerUrl)]).Build()));
}
