using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Baton.Core.Tests.Support;
using Baton.Diagnostics;
using Baton.Retries;
using Baton.Runs;

namespace Baton.Core.Tests.Diagnostics;

/// <summary>
/// Baton's spans as an OpenTelemetry SDK with the in-memory exporter collects them: a run's execution, its step
/// attempts and its compensations, their parents and tags, and the trace context kept with the run across executions.
/// </summary>
public sealed class TracingTests : IDisposable
{
    private readonly SpanCollector _spans = new();

    public void Dispose() => _spans.Dispose();

    [Fact]
    public async Task Tracing_SagaStepFails_RunStepAndCompensationSpansNestUnderStartWithTags()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("saga", async (ctx, _, ct) =>
        {
            await ctx.StepAsync("reserve", _ => Task.FromResult(1), compensate: (_, _) => Task.CompletedTask, cancellationToken: ct);
            await ctx.StepAsync<int>("charge", _ => throw new NonRetryableException("card declined"), cancellationToken: ct);
            return 0;
        }));

        var (start, id) = await StartInSpanAsync(node, "saga");
        var spans = await _spans.WaitForTraceAsync(start.TraceId, s => s.Any(a => a.DisplayName == "run saga"));

        var run = Assert.Single(spans, a => a.DisplayName == "run saga");
        Assert.Equal(start.SpanId, run.ParentSpanId);
        Assert.Equal(id, run.GetTagItem(BatonDiagnostics.RunIdTag));
        Assert.Equal("saga", run.GetTagItem(BatonDiagnostics.WorkflowTag));
        Assert.Equal(1, run.GetTagItem(BatonDiagnostics.ExecutionTag));
        Assert.Equal("compensated", run.GetTagItem(BatonDiagnostics.OutcomeTag));
        Assert.Equal(ActivityStatusCode.Error, run.Status);
        Assert.Equal("card declined", run.StatusDescription);

        var reserve = Assert.Single(spans, a => a.DisplayName == "step reserve");
        Assert.Equal(run.SpanId, reserve.ParentSpanId);
        Assert.Equal(("reserve", 1, "succeeded", id), (reserve.GetTagItem(BatonDiagnostics.StepTag), reserve.GetTagItem(BatonDiagnostics.AttemptTag), reserve.GetTagItem(BatonDiagnostics.OutcomeTag), reserve.GetTagItem(BatonDiagnostics.RunIdTag)));
        Assert.Equal(ActivityStatusCode.Unset, reserve.Status);

        var charge = Assert.Single(spans, a => a.DisplayName == "step charge");
        Assert.Equal(run.SpanId, charge.ParentSpanId);
        Assert.Equal("failed", charge.GetTagItem(BatonDiagnostics.OutcomeTag));
        Assert.Equal(ActivityStatusCode.Error, charge.Status);
        Assert.Contains(charge.Events, e => e.Name == "exception");

        var compensate = Assert.Single(spans, a => a.DisplayName == "compensate reserve");
        Assert.Equal(run.SpanId, compensate.ParentSpanId);
        Assert.Equal(("reserve", "succeeded"), (compensate.GetTagItem(BatonDiagnostics.StepTag), compensate.GetTagItem(BatonDiagnostics.OutcomeTag)));
        var undo = Assert.Single(spans, a => a.ParentSpanId == compensate.SpanId);
        Assert.Equal("succeeded", undo.GetTagItem(BatonDiagnostics.OutcomeTag));
        Assert.True(run.StartTimeUtc <= reserve.StartTimeUtc && compensate.StartTimeUtc + compensate.Duration <= run.StartTimeUtc + run.Duration);
    }

    [Fact]
    public async Task Tracing_HttpClientCallInStep_IsChildOfStepSpanAndCarriesItsTrace()
    {
        using var listener = new HttpListener();
        var url = $"http://127.0.0.1:{FreePort()}/ping/";
        listener.Prefixes.Add(url);
        listener.Start();
        var received = ServeOnceAsync(listener);
        using var http = new HttpClient();
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("caller", (ctx, _, ct) =>
            ctx.StepAsync("ping", token => http.GetStringAsync(url, token), cancellationToken: ct)));

        var (start, id) = await StartInSpanAsync(node, "caller");
        var run = await node.WaitForEndAsync(id);
        var spans = await _spans.WaitForTraceAsync(start.TraceId, s => s.Any(a => a.DisplayName == "run caller"));

        Assert.Equal(RunStatus.Succeeded, run.Status);
        var step = Assert.Single(spans, a => a.DisplayName == "step ping");
        var call = Assert.Single(spans, a => a.Source.Name == "System.Net.Http");
        Assert.Equal(step.SpanId, call.ParentSpanId);
        Assert.Equal($"00-{start.TraceId}-{call.SpanId}-01", await received.WaitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task Tracing_RunResumedAfterTimer_SecondExecutionContinuesStartTrace()
    {
        var clock = new ExactClock(EngineHarness.Start);
        var wakeAt = EngineHarness.Start.AddHours(1);
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("sleeper", async (ctx, _, ct) =>
        {
            await ctx.DelayAsync("wait", TimeSpan.FromHours(1), ct);
            return await ctx.StepAsync("after", _ => Task.FromResult(1), cancellationToken: ct);
        }), time: clock);

        var (start, id) = await StartInSpanAsync(node, "sleeper");
        await node.WaitForAsync(id, r => r.Status == RunStatus.Suspended);
        await _spans.WaitForTraceAsync(start.TraceId, s => s.Any(a => a.DisplayName == "run sleeper"));
        clock.SetUtcNow(wakeAt);
        node.WakeWorker();
        var ended = await node.WaitForEndAsync(id);
        var spans = await _spans.WaitForTraceAsync(start.TraceId, s => s.Count(a => a.DisplayName == "run sleeper") == 2);

        Assert.Equal(RunStatus.Succeeded, ended.Status);
        var runs = spans.Where(a => a.DisplayName == "run sleeper").OrderBy(a => (int)a.GetTagItem(BatonDiagnostics.ExecutionTag)!).ToList();
        Assert.All(runs, r => Assert.Equal(start.SpanId, r.ParentSpanId));
        Assert.Equal(["suspended", "succeeded"], runs.Select(r => r.GetTagItem(BatonDiagnostics.OutcomeTag)));
        Assert.Equal(runs[1].SpanId, Assert.Single(spans, a => a.DisplayName == "step after").ParentSpanId);
    }

    [Fact]
    public async Task Tracing_ChildRun_RunsInParentsTraceUnderParentsSpan()
    {
        await using var node = await EngineHarness.StartAsync(b => b
            .AddWorkflow<int, int>("child", (ctx, n, ct) => ctx.StepAsync("square", _ => Task.FromResult(n * n), cancellationToken: ct))
            .AddWorkflow<int, int>("parent", (ctx, n, ct) => ctx.RunChildAsync<int>("child", n, cancellationToken: ct)));

        var (start, id) = await StartInSpanAsync(node, "parent");
        var ended = await node.WaitForEndAsync(id);
        var spans = await _spans.WaitForTraceAsync(start.TraceId, s => s.Any(a => a.DisplayName == "run child") && s.Any(a => a.DisplayName == "run parent" && Equals(a.GetTagItem(BatonDiagnostics.OutcomeTag), "succeeded")));

        Assert.Equal(RunStatus.Succeeded, ended.Status);
        var parentSpans = spans.Where(a => Equals(a.GetTagItem(BatonDiagnostics.RunIdTag), id)).Select(a => a.SpanId).ToHashSet();
        var child = Assert.Single(spans, a => a.DisplayName == "run child");
        Assert.Contains(child.ParentSpanId, parentSpans);
        Assert.Equal(child.SpanId, Assert.Single(spans, a => a.DisplayName == "step square").ParentSpanId);
    }

    [Fact]
    public async Task Tracing_NoCurrentSpanAtStart_StoresNoContextAndRunSpanIsRoot()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("plain", (ctx, _, ct) =>
            ctx.StepAsync("one", _ => Task.FromResult(1), cancellationToken: ct)));
        Activity.Current = null;

        var id = await node.StartRunAsync("plain");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Null(run.TraceParent);
        Assert.Null(run.TraceState);
        var span = await _spans.WaitForRunSpanAsync(id);
        Assert.Equal(default, span.ParentSpanId);
        Assert.Equal("succeeded", span.GetTagItem(BatonDiagnostics.OutcomeTag));
    }

    [Fact]
    public async Task Tracing_StartInSpanWithTraceState_StoresW3CContextWithRun()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("plain", (_, _, _) => Task.FromResult(1)), startServices: false);

        using var start = SpanCollector.TestSource.StartActivity("start")!;
        start.TraceStateString = "vendor=abc";
        var id = await node.StartRunAsync("plain");
        var stored = await node.Client.GetRunAsync(id);
        var record = (await node.Store.Runs.GetRunAsync(id))!;

        Assert.NotNull(stored);
        Assert.Equal(start.Id, record.TraceParent);
        Assert.Equal("vendor=abc", record.TraceState);
    }

    private static async Task<(Activity Start, string RunId)> StartInSpanAsync(EngineHarness node, string workflow)
    {
        using var start = SpanCollector.TestSource.StartActivity("start")!;
        var id = await node.StartRunAsync(workflow);
        return (start, id);
    }

    private static async Task<string?> ServeOnceAsync(HttpListener listener)
    {
        var context = await listener.GetContextAsync();
        var traceParent = context.Request.Headers["traceparent"];
        context.Response.StatusCode = 200;
        await context.Response.OutputStream.WriteAsync("ok"u8.ToArray());
        context.Response.Close();
        return traceParent;
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
