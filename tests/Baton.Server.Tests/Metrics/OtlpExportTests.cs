using System.Diagnostics;
using System.Net;
using System.Text;
using Baton.Hosting;
using Baton.Retries;
using Baton.Server.Metrics;
using Baton.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace Baton.Server.Tests.Metrics;

/// <summary>
/// OTLP export from a real server process to a receiver in the test: switched on by OTEL_EXPORTER_OTLP_ENDPOINT, and one
/// run's spans forming one trace (the start request's) across a SIGKILL and the resume in a second process.
/// </summary>
public sealed class OtlpExportTests
{
    private const string Key = "otlp-test-key-5b1d93e07a24";

    [Fact]
    public async Task Otlp_EndpointSet_ExportsTracesWithRunIdMetricsAndLogsWithoutTheKey()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var server = ServerProcess.Start(Environment(receiver, TestPaths.NewTempDirectory()));
        await server.WaitForLiveAsync();
        using var client = server.NewClient(Key);

        using var started = await client.PostAsync("/api/workflows/demo/runs", InProcessServer.Json("""{"items":3,"delayMs":0}"""));
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var id = (await InProcessServer.ReadJsonAsync(started)).GetProperty("id").GetString()!;
        await WaitForStatusAsync(client, id, "succeeded");
        // The key as a path segment (a caller's mistake): before, the span's url.path exported it as it was.
        using var keyInPath = await client.GetAsync($"/api/runs/{Key}");
        await receiver.WaitForAsync("traces", "the key-in-path request's span", 0, "/api/runs/***"u8.ToArray());

        var traces = await receiver.WaitForAsync("traces", "a span naming the run", 0, Encoding.UTF8.GetBytes(id), "run demo"u8.ToArray());
        await receiver.WaitForAsync("metrics", "the engine's metrics", 0, "baton.runs.started"u8.ToArray());
        await receiver.WaitForAsync("logs", "a log record", 0, "Run"u8.ToArray());

        Assert.NotEmpty(traces);
        Assert.All(receiver.Bodies("traces"), body => Assert.NotEmpty(body));
        // The admin key (sent on every request above) is in no exported span, metric or log record.
        Assert.All(receiver.Bodies("traces").Concat(receiver.Bodies("metrics")).Concat(receiver.Bodies("logs")), body => Assert.True(body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(Key)) < 0, "the admin key was exported"));
    }

    [Fact]
    public async Task Otlp_StepThrowsWithConfiguredSecretsInItsMessage_ExceptionEventAndStatusExportedMasked()
    {
        // Before: the processor masked span names and tags only. The failed attempt's exception event (exception.message,
        // exception.stacktrace) and the attempt's and run's status descriptions carried the step's message as thrown, so the
        // admin key and a worker URL's password reached the collector while the log lines said ***.
        const string password = "w0rker-pass-61c2";
        var message = $"POST http://baton:{password}@127.0.0.1:9/enqueue refused; key {InProcessServer.AdminKey}";
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var server = await StartExportingAsync(receiver, (_, baton) => baton.AddWorkflow<QuickInput, int>("leaky", (context, _, cancellationToken) =>
            context.StepAsync<int>("call", _ => throw new NonRetryableException(message), cancellationToken: cancellationToken)));

        var (status, body) = await server.StartRunAsync("leaky", """{"n":1}""");
        Assert.Equal(HttpStatusCode.Accepted, status);
        var id = body.GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(id, "failed");

        var masked = Encoding.UTF8.GetBytes("POST http://baton:***@127.0.0.1:9/enqueue refused; key ***");
        await receiver.WaitForAsync("traces", "the failed attempt's span and the failed run's span", 0, "step call"u8.ToArray(), "exception.message"u8.ToArray(), Encoding.UTF8.GetBytes(id), "run leaky"u8.ToArray());
        await receiver.WaitForAsync("logs", "the failure's log record", 0, masked);
        Assert.Contains(server.Logs.Entries, e => e.Message.Contains("POST http://baton:***@127.0.0.1:9/enqueue", StringComparison.Ordinal));
        Assert.Contains(receiver.Bodies("traces"), b => b.AsSpan().IndexOf("exception.message"u8) >= 0 && b.AsSpan().IndexOf(masked) >= 0);
        foreach (var secret in new[] { password, InProcessServer.AdminKey })
        {
            Assert.All(
                receiver.Bodies("traces").Concat(receiver.Bodies("logs")),
                b => Assert.True(b.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) < 0, $"'{secret}' was exported"));
        }
    }

    [Fact]
    public async Task Otlp_StepAddsAnEventWithSecretsInItsNameAndTags_EventExportedMasked()
    {
        // Before: only exception events were masked (while AddException built them); an event added with Activity.AddEvent
        // (a workflow's own, an instrumentation's) was exported with its tags as given, the password and the key with them.
        const string password = "ev3nt-pass-8d41";
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var server = await StartExportingAsync(receiver, (_, baton) => baton.AddWorkflow<QuickInput, int>("eventful", (context, _, cancellationToken) =>
            context.StepAsync("call", _ =>
            {
                Activity.Current?.AddEvent(new ActivityEvent($"upstream called with key {InProcessServer.AdminKey}", tags: new ActivityTagsCollection
                {
                    ["url.full"] = $"http://baton:{password}@127.0.0.1:9/enqueue",
                    ["auth"] = $"key {InProcessServer.AdminKey}",
                    ["attempt"] = 1,
                }));
                return Task.FromResult(1);
            }, cancellationToken: cancellationToken)));

        var (status, body) = await server.StartRunAsync("eventful", """{"n":1}""");
        Assert.Equal(HttpStatusCode.Accepted, status);
        await server.WaitForStatusAsync(body.GetProperty("id").GetString()!, "succeeded");

        await receiver.WaitForAsync("traces", "the step's span with its event", 0, "upstream called with key ***"u8.ToArray(), "step call"u8.ToArray());
        Assert.Contains(receiver.Bodies("traces"), b => b.AsSpan().IndexOf("http://baton:***@127.0.0.1:9/enqueue"u8) >= 0 && b.AsSpan().IndexOf("key ***"u8) >= 0);
        foreach (var secret in new[] { password, InProcessServer.AdminKey })
        {
            Assert.All(receiver.Bodies("traces"), b => Assert.True(b.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) < 0, $"'{secret}' was exported"));
        }
    }

    [Fact]
    public async Task Tracing_RunAcrossSigkillAndResume_SpansOfBothProcessesShareStartTrace()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = Environment(receiver, TestPaths.NewTempDirectory());
        var traceId = ActivityTraceId.CreateRandom();
        var traceBytes = Convert.FromHexString(traceId.ToHexString());
        string id;
        int bodiesAtKill;
        IReadOnlyList<byte[]> beforeKill;
        await using (var first = ServerProcess.Start(environment))
        {
            await first.WaitForLiveAsync();
            using var client = first.NewClient(Key);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/workflows/demo/runs")
            {
                Content = InProcessServer.Json("""{"items":40,"delayMs":250,"parallelism":2}"""),
            };
            // The caller's span: the request's server span continues it, and the run stores that span's context.
            request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
            using var started = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            id = (await InProcessServer.ReadJsonAsync(started)).GetProperty("id").GetString()!;
            // Steps of the first execution exported in the start request's trace before the kill.
            await receiver.WaitForAsync("traces", "first process's step spans in the start trace", 0, traceBytes, "step "u8.ToArray());

            first.Kill();
            await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
            bodiesAtKill = receiver.Count;
            beforeKill = receiver.Bodies("traces");
        }

        await using var second = ServerProcess.Start(environment);
        await second.WaitForLiveAsync();
        using var again = second.NewClient(Key);
        var finished = await WaitForStatusAsync(again, id, "succeeded");

        // The second execution's run span (it ends with the run) is exported by the second process in the same trace.
        var after = await receiver.WaitForAsync("traces", "second process's run span in the start trace", bodiesAtKill, traceBytes, Encoding.UTF8.GetBytes(id), "run demo"u8.ToArray());
        Assert.Equal(2, finished.GetProperty("executions").GetInt32());
        Assert.Contains(after, b => b.AsSpan().IndexOf(traceBytes) >= 0 && b.AsSpan().IndexOf("run demo"u8) >= 0);
        Assert.Contains(beforeKill, b => b.AsSpan().IndexOf(traceBytes) >= 0 && b.AsSpan().IndexOf("step "u8) >= 0);
    }

    [Fact]
    public async Task Otlp_IdleNodeOnPostgres_ExportsNoSpanForItsOwnPollingClaimsAndHeartbeats()
    {
        // Before: every poll, claim, renewal and heartbeat was a lone "postgresql" trace (about 100 per 30 s per node).
        await using var receiver = await OtlpReceiver.StartAsync();
        var postgres = System.Environment.GetEnvironmentVariable("BATON_POSTGRES") is { Length: > 0 } set ? set : KeyedServer.DefaultPostgres;
        await PostgresDatabases.EnsureAsync(postgres);
        var environment = Environment(receiver, TestPaths.NewTempDirectory());
        environment["BATON_STORE"] = "postgres";
        environment["BATON_POSTGRES"] = postgres;
        environment["Baton__Store__Postgres__Schema"] = "t_" + Guid.NewGuid().ToString("N")[..16];
        environment["Baton__Engine__PollInterval"] = "00:00:00.100";
        environment["Baton__Engine__HeartbeatInterval"] = "00:00:00.250";
        environment["Baton__Engine__LeaseDuration"] = "00:00:01";
        await using var server = ServerProcess.Start(environment);
        await server.WaitForLiveAsync();

        // About 4 s idle (40 polls, 16 heartbeats) and no request at all, so any Npgsql span is one of the node's own. The
        // exporter is working meanwhile: metrics go out every 500 ms through the same SDK (the test above sees traces).
        await Task.Delay(TimeSpan.FromSeconds(4));
        await receiver.WaitForAsync("metrics", "the engine's metrics", 0, "baton."u8.ToArray());
        await Task.Delay(TimeSpan.FromMilliseconds(500));

        var npgsql = receiver.Bodies("traces").Count(b => b.AsSpan().IndexOf("db.system"u8) >= 0);
        Assert.Equal(0, npgsql);
    }

    [Theory]
    [InlineData("RabbitMQ.Client.Subscriber")]
    [InlineData("RabbitMQ.Client.Publisher")]
    public void Tracing_OtlpEndpointSet_ExportsTheRabbitMqClientsSpans(string source)
    {
        // Before: the server traced Baton, ASP.NET Core, HttpClient and Npgsql only. RabbitMQ.Client creates its deliver span
        // (the sender's traceparent from the message headers) and its publish span only for a listener, so a doctor saga started
        // by a broker message stored no trace context (a root trace, not the sender's; checked with the real client and broker)
        // and a step's publish carried no span of its own, though the README names a message's span as a run's parent.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration[BatonTelemetry.OtlpEndpointKey] = "http://127.0.0.1:9";
        var ended = new List<Activity>();
        builder.Services.AddSingleton<Baton.Server.Logging.SecretRedactor>();
        BatonTelemetry.AddHostExport(builder);
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddProcessor(new EndedSpans(ended)));
        using var app = builder.Build();
        _ = app.Services.GetRequiredService<OpenTelemetry.Trace.TracerProvider>();
        using var rabbit = new ActivitySource(source);

        using (rabbit.StartActivity("deliver", ActivityKind.Consumer))
        {
        }

        Assert.Contains(ended, span => span.Source.Name == source);
    }

    /// <summary>An in-process server exporting its spans and logs to <paramref name="receiver"/> every 100 ms.</summary>
    private static Task<InProcessServer> StartExportingAsync(OtlpReceiver receiver, Action<WebApplicationBuilder, BatonBuilder> configure) =>
        InProcessServer.StartAsync(
            new Dictionary<string, string>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint,
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
                ["OTEL_BLRP_SCHEDULE_DELAY"] = "100",
            },
            configure);

    private static Dictionary<string, string?> Environment(OtlpReceiver receiver, string directory) => new()
    {
        ["ADMIN_KEY"] = Key,
        ["Baton__Store__Sqlite__Path"] = Path.Combine(directory, "baton.db"),
        ["Baton__Engine__LeaseDuration"] = "00:00:03",
        ["Baton__Engine__HeartbeatInterval"] = "00:00:01",
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint,
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        // Export every 100 ms instead of every 5 s (spans, logs) and 60 s (metrics), so the test waits little.
        ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        ["OTEL_BLRP_SCHEDULE_DELAY"] = "100",
        ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
    };

    private static Task<System.Text.Json.JsonElement> WaitForStatusAsync(HttpClient client, string id, string status) =>
        Poll.UntilAsync(
            async () => await InProcessServer.ReadJsonAsync(await client.GetAsync($"/api/runs/{id}")),
            run => run.GetProperty("status").GetString() == status,
            $"run {id} to be {status}",
            TimeSpan.FromSeconds(60));

    /// <summary>Keeps every span the provider ends, beside its OTLP exporter.</summary>
    private sealed class EndedSpans(List<Activity> ended) : OpenTelemetry.BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data)
        {
            lock (ended)
            {
                ended.Add(data);
            }
        }
    }
}
