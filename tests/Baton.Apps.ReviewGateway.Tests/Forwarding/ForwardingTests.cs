using System.Net;
using Baton.Apps.ReviewGateway.Tests.Infrastructure;
using Baton.Runs;
using Baton.Simulators.WorkerNode;
using Baton.Storage;

namespace Baton.Apps.ReviewGateway.Tests.Forwarding;

/// <summary>How the forwarding run reacts to the worker's answers: 5xx retried, 4xx terminal, slow answers timed out.</summary>
public sealed class ForwardingTests : IAsyncLifetime
{
    private WorkerNodeSimulator _worker = null!;
    private GatewayServer _server = null!;

    public async Task InitializeAsync()
    {
        _worker = await WorkerNodeSimulator.StartAsync(Ports.Free());
        // A generous attempt timeout: these tests count attempts and deliveries, and an answer slowed past a short
        // timeout by a loaded machine would add a timed-out attempt (and a second delivery). Only the slow-worker test
        // runs with a short one, on a server of its own.
        _server = await StartServerAsync(TimeSpan.FromSeconds(30));
    }

    private Task<GatewayServer> StartServerAsync(TimeSpan attemptTimeout) =>
        GatewayServer.StartAsync(
            _worker.BaseAddress,
            new Dictionary<string, string> { ["Baton:Apps:ReviewGateway:AttemptTimeout"] = attemptTimeout.ToString("c", System.Globalization.CultureInfo.InvariantCulture) });

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _worker.DisposeAsync();
    }

    [Fact]
    public async Task Forward_Worker503ForAWhile_RetriedUntilDelivered()
    {
        _worker.State.FailStatus = 503;
        _worker.State.FailNext(3);

        var (status, body, _) = await _server.EnqueueAsync("retry-503");
        var run = await _server.WaitForRunAsync(body.GetProperty("runId").GetString()!, RunStatus.Succeeded, RunStatus.Failed);

        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        // One durable step with the gateway's retry policy (issue 14: it replaced a step per attempt and a durable
        // timer between them): four attempts, the first three failed with the worker's 503.
        Assert.Equal(new[] { "forward" }, ForwardSteps(run));
        Assert.Equal(4, run.Steps.Single(s => s.Key == "forward").Attempts);
        Assert.Equal(3, run.Attempts.Count(a => a.StepKey == "forward" && a.ErrorMessage?.Contains("answered 503", StringComparison.Ordinal) == true));
        Assert.Equal(3, run.Run.Progress["forward.failedAttempts"]);
        Assert.Equal(202, System.Text.Json.JsonDocument.Parse(run.Run.Output!).RootElement.GetProperty("workerStatus").GetInt32());
        Assert.Equal(1, _worker.State.Jobs["reviews:retry-503:start"]);
    }

    [Fact]
    public async Task RunJson_Worker503ThenDelivered_ShowsTheForwardStepAsTheReadmeSays()
    {
        _worker.State.FailStatus = 503;
        _worker.State.FailNext(1);

        var (_, body, _) = await _server.EnqueueAsync("readme-503");
        var runId = body.GetProperty("runId").GetString()!;
        await _server.WaitForRunAsync(runId, RunStatus.Succeeded, RunStatus.Failed);
        using var response = await _server.Main.GetAsync($"/api/runs/{runId}");
        var run = await GatewayServer.ReadJsonAsync(response);

        // What the API answers: one step, forward, whose result is the worker's status, its attempts under it.
        var step = Assert.Single(run.GetProperty("steps").EnumerateArray());
        Assert.Equal("forward", step.GetProperty("key").GetString());
        Assert.Equal(202, step.GetProperty("result").GetInt32());
        var attempts = step.GetProperty("attempts").EnumerateArray().ToArray();
        Assert.Equal(["failed", "succeeded"], attempts.Select(a => a.GetProperty("outcome").GetString()));
        var error = attempts[0].GetProperty("error").GetString()!;
        Assert.StartsWith("worker node answered 503 Service Unavailable for job reviews:readme-503:start: ", error, StringComparison.Ordinal);
        Assert.Equal(1, run.GetProperty("progress").GetProperty("forward.failedAttempts").GetInt32());
        Assert.Equal(["jobId", "workerStatus"], run.GetProperty("output").EnumerateObject().Select(p => p.Name));

        // What the app's README says of it (before: "lists each attempt step with its result
        // ({"workerStatus":202,"error":null} ...), the timers", the shape from before one step with retries replaced them).
        var readme = (await File.ReadAllTextAsync(Path.Combine(TestPaths.RepoRoot, "apps", "Baton.Apps.ReviewGateway", "README.md")))
            .ReplaceLineEndings(" ").Replace("  ", " ", StringComparison.Ordinal);
        Assert.Contains("lists the one step `forward`, whose `result` is the worker's status (`202`)", readme, StringComparison.Ordinal);
        Assert.Contains("`worker node answered 503 Service Unavailable for job reviews:<placeId>:start: ", readme, StringComparison.Ordinal);
        Assert.Contains("the counter `forward.failedAttempts`, and the output `{\"jobId\",\"workerStatus\"}`", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("{\"workerStatus\":202,\"error\":null}", readme, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forward_Worker4xx_FailsTerminallyWithoutRetry()
    {
        _worker.State.FailStatus = 422;
        _worker.State.FailNext(1);

        var (_, body, _) = await _server.EnqueueAsync("terminal-422");
        var run = await _server.WaitForRunAsync(body.GetProperty("runId").GetString()!, RunStatus.Succeeded, RunStatus.Failed);

        Assert.Equal(RunStatus.Failed, run.Run.Status);
        Assert.Equal(new[] { "forward" }, ForwardSteps(run));
        Assert.Single(run.Attempts);
        Assert.Contains("422", run.Run.Failure!.Message, StringComparison.Ordinal);
        Assert.Contains("NonRetryableException", run.Run.Failure.ErrorType, StringComparison.Ordinal);
        Assert.Equal("rejected_by_worker", run.Run.Phase); // before: still "forwarding"
        Assert.False(_worker.State.Jobs.ContainsKey("reviews:terminal-422:start"));
    }

    [Fact]
    public async Task Forward_Worker4xxWithACharsetDotNetDoesNotKnow_StillFailsAtOnce()
    {
        // Before: reading the error body for the message threw InvalidOperationException ("The character set provided in
        // ContentType is invalid"), which was neither the 4xx's NonRetryableException nor a counted failed attempt: the job
        // was retried for an hour with an error that never said the worker had answered 422.
        const string Body = """{"error":"placeId refused"}""";
        var run = await ForwardToCannedAnswerAsync(
            $"HTTP/1.1 422 Unprocessable Entity\r\nContent-Type: application/json; charset=bogus\r\nContent-Length: {Body.Length}\r\nConnection: close\r\n\r\n{Body}", "odd-charset");

        Assert.Equal(RunStatus.Failed, run.Run.Status);
        Assert.Single(run.Attempts);
        Assert.Contains("worker node answered 422", run.Run.Failure!.Message, StringComparison.Ordinal);
        Assert.Contains("NonRetryableException", run.Run.Failure.ErrorType, StringComparison.Ordinal);
        Assert.Equal("rejected_by_worker", run.Run.Phase);
    }

    [Fact]
    public async Task Forward_Worker4xxWhoseBodyNeverEnds_FailsAsRejectedNotRetriedAsNoAnswer()
    {
        // Before: the 422's body was read to its end for the error's first 200 characters; a body that stops coming (a
        // Content-Length never reached) held the attempt until its time limit, which made the worker's 422 "no answer
        // within 2 s", a retried WorkerUnavailableException: a job the worker refused was sent again and again.
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var held = new CancellationTokenSource();
        var serving = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    using var peer = await listener.AcceptTcpClientAsync(held.Token);
                    var stream = peer.GetStream();
                    _ = await stream.ReadAsync(new byte[65536], held.Token);
                    await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
                        "HTTP/1.1 422 Unprocessable Entity\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"error\":\"placeId refused\""), held.Token);
                    // The rest never comes while the test runs: the connection stays open until the peer closes it.
                    _ = await stream.ReadAsync(new byte[1], held.Token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or System.Net.Sockets.SocketException or IOException or ObjectDisposedException)
            {
                // Stopped.
            }
        });
        await using var server = await GatewayServer.StartAsync(new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}"));

        var (_, body, _) = await server.EnqueueAsync("never-ending-422");
        var runId = body.GetProperty("runId").GetString()!;
        var run = await Poll.UntilAsync(() => server.RunAsync(runId), r => r!.Attempts.Any(a => a.ErrorMessage is not null), "the first attempt to end");
        await held.CancelAsync();
        listener.Stop();
        await serving;

        var attempt = Assert.Single(run!.Attempts, a => a.StepKey == "forward");
        Assert.Contains("worker node answered 422 Unprocessable Entity for job reviews:never-ending-422:start: {\"error\":\"placeId refused\"", attempt.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("NonRetryableException", attempt.ErrorType, StringComparison.Ordinal);
        run = await server.WaitForRunAsync(runId, RunStatus.Succeeded, RunStatus.Failed);
        Assert.Equal(RunStatus.Failed, run!.Run.Status);
        Assert.Equal("rejected_by_worker", run.Run.Phase);
    }

    [Theory]
    [InlineData(307, "Temporary Redirect")]
    [InlineData(308, "Permanent Redirect")]
    public async Task Forward_WorkerUrlRedirectsThePost_FollowedAsTheSeedsGoClientDoes(int status, string reason)
    {
        // A worker node behind a proxy that moves POST /enqueue with a 307 or 308 (an ingress's http-to-https redirect is a
        // 308): the seed's Go client sends the POST again, body and all, to the Location. Before: the 3xx was retried as a
        // failed attempt ("worker node answered 308 Permanent Redirect"), for an hour, and the job never reached the worker.
        var run = await ForwardToCannedAnswerAsync(
            $"HTTP/1.1 {status} {reason}\r\nLocation: {_worker.BaseAddress.ToString().TrimEnd('/')}/enqueue\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", $"moved-{status}");

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Single(run.Attempts, a => a.StepKey == "forward");
        Assert.Equal(1, _worker.State.Jobs[$"reviews:moved-{status}:start"]);
        Assert.Equal($"moved-{status}", _worker.State.PlaceIdOf($"reviews:moved-{status}:start"));
    }

    [Theory]
    [InlineData(301, "Moved Permanently")]
    [InlineData(302, "Found")]
    [InlineData(303, "See Other")]
    public async Task Forward_WorkerUrlRedirectsThePostToAGet_FailsAtOnceSayingWhereItPointed(int status, string reason)
    {
        // A 301, 302 or 303 makes the seed's Go client send a GET without the body, which delivers no job; waiting does not
        // change it. Before: retried as a 5xx, 75 attempts over about an hour, then failed.
        var run = await ForwardToCannedAnswerAsync(
            $"HTTP/1.1 {status} {reason}\r\nLocation: http://user:hunter2@other.example/enqueue\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", $"moved-{status}");

        Assert.Equal(RunStatus.Failed, run.Run.Status);
        var attempt = Assert.Single(run.Attempts, a => a.StepKey == "forward");
        Assert.Contains($"worker node answered {status} {reason}", attempt.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("only a 307 or 308 with a Location is followed", attempt.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("(this answer pointed to http://user:***@other.example/enqueue)", attempt.ErrorMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", attempt.ErrorMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(429, "Too Many Requests")]
    [InlineData(503, "Service Unavailable")]
    public async Task Forward_WorkerAsksToRetryAfter30s_NextAttemptNotBeforeThen(int status, string reason)
    {
        // Before: the answer's Retry-After was ignored and the job was sent again on the policy's own backoff (0.9 s, then 2 s).
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serving = CannedHttpAnswer.ServeAsync(
            listener, $"HTTP/1.1 {status} {reason}\r\nRetry-After: 30\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        await using var server = await GatewayServer.StartAsync(
            new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}"),
            new Dictionary<string, string> { ["Baton:Apps:ReviewGateway:MaxDelay"] = "00:01:00" });

        var (_, body, _) = await server.EnqueueAsync($"asked-to-wait-{status}");
        var runId = body.GetProperty("runId").GetString()!;
        // The backoff is over the engine's suspend threshold: the run gives its slot back until the attempt is due.
        var run = await Poll.UntilAsync(() => server.RunAsync(runId), r => r!.Run.Status == RunStatus.Suspended, "the run to wait for its next attempt");
        listener.Stop();
        await serving;

        var failed = Assert.Single(run!.Attempts, a => a.StepKey == "forward");
        Assert.Contains("asked to retry after 30 s", failed.ErrorMessage, StringComparison.Ordinal);
        Assert.True(run.Run.RunAfter >= failed.EndedAt!.Value.AddSeconds(30), $"next attempt at {run.Run.RunAfter:O}, the failed one ended {failed.EndedAt:O}");
        Assert.Equal(1, run.Run.Progress["forward.failedAttempts"]);
        Assert.Equal("waiting_for_worker", run.Run.Phase);
    }

    [Fact]
    public async Task Forward_BacklogBehindFewConnections_TheWaitForAConnectionIsNotPartOfTheAttemptsTime()
    {
        // One connection, a worker answering in 300 ms, eight jobs at once: the last waits about 2.1 s for the connection,
        // more than the 1.5 s attempt limit. Before: the limit counted that wait, so queued jobs timed out without the worker
        // being asked, and were sent again ("no answer within 1.5 s"; a reviewer's 600 jobs reached a 2 s worker 1,526 times).
        await using var server = await GatewayServer.StartAsync(_worker.BaseAddress, new Dictionary<string, string>
        {
            ["Baton:Apps:ReviewGateway:AttemptTimeout"] = "00:00:01.500",
            ["Baton:Apps:ReviewGateway:MaxConnections"] = "1",
        });
        _worker.State.Delay = TimeSpan.FromMilliseconds(300);

        var runIds = new List<string>();
        foreach (var i in Enumerable.Range(0, 8))
        {
            runIds.Add((await server.EnqueueAsync($"queued-{i}")).Body.GetProperty("runId").GetString()!);
        }

        var runs = new List<RunDetails>();
        foreach (var id in runIds)
        {
            runs.Add(await server.WaitForRunAsync(id, RunStatus.Succeeded, RunStatus.Failed));
        }

        Assert.All(runs, r => Assert.Equal(RunStatus.Succeeded, r.Run.Status));
        Assert.All(runs, r => Assert.Single(r.Attempts, a => a.StepKey == "forward"));
        Assert.All(Enumerable.Range(0, 8), i => Assert.Equal(1, _worker.State.Jobs[$"reviews:queued-{i}:start"]));
    }

    [Fact]
    public async Task Forward_WorkerResetsConnection_RetriedUntilDelivered()
    {
        _worker.State.Mode = WorkerNodeMode.Reset;
        var (_, body, _) = await _server.EnqueueAsync("reset-then-up");
        var runId = body.GetProperty("runId").GetString()!;
        await Poll.UntilAsync(async () => (await _server.RunAsync(runId))!.Attempts.Count, n => n >= 2, "two failed attempts");

        _worker.State.Mode = WorkerNodeMode.Up;
        var run = await _server.WaitForRunAsync(runId, RunStatus.Succeeded, RunStatus.Failed);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Equal(1, _worker.State.Jobs["reviews:reset-then-up:start"]);
    }

    [Fact]
    public async Task Forward_SlowWorker_AttemptTimesOutAndIsRetried()
    {
        await using var server = await StartServerAsync(TimeSpan.FromMilliseconds(300));
        _worker.State.Delay = TimeSpan.FromSeconds(5);
        var (_, body, _) = await server.EnqueueAsync("slow-worker");
        var runId = body.GetProperty("runId").GetString()!;
        // The 300 ms attempt timeout cancels the call long before the 5 s answer.
        await Poll.UntilAsync(async () => (await server.RunAsync(runId))!.Attempts.Count(a => a.ErrorMessage?.Contains("no answer within 0.3 s", StringComparison.Ordinal) == true), n => n >= 1, "a timed-out attempt");

        _worker.State.Delay = TimeSpan.Zero;
        var run = await server.WaitForRunAsync(runId, RunStatus.Succeeded, RunStatus.Failed);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.True(run.Attempts.Count(a => a.StepKey == "forward") >= 2);
    }

    [Fact]
    public async Task Forward_WorkerAcceptsNoConnection_ConnectTimeoutIsAFailedAttemptThatSaysSo()
    {
        // A listener whose accept queue is full: the kernel drops the next SYN, so the handler's 5 s connect timeout
        // fires (before: "The operation was canceled.", not counted in forward.failedAttempts, phase left at forwarding).
        using var blackhole = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        blackhole.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        blackhole.Listen(0);
        var port = ((IPEndPoint)blackhole.LocalEndPoint!).Port;
        var fillers = new List<System.Net.Sockets.Socket>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var filler = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { Blocking = false };
                fillers.Add(filler);
                try
                {
                    filler.Connect(IPAddress.Loopback, port);
                }
                catch (System.Net.Sockets.SocketException)
                {
                    // In progress (or dropped): either way the queue fills.
                }
            }

            await using var server = await GatewayServer.StartAsync(
                new Uri($"http://127.0.0.1:{port}"),
                new Dictionary<string, string> { ["Baton:Apps:ReviewGateway:AttemptTimeout"] = "00:01:00", ["Baton:Apps:ReviewGateway:MaxAttempts"] = "1" });
            var (_, body, _) = await server.EnqueueAsync("no-connection");

            var run = await server.WaitForRunAsync(body.GetProperty("runId").GetString()!, RunStatus.Failed, RunStatus.Succeeded);

            Assert.Equal(RunStatus.Failed, run.Run.Status);
            var attempt = Assert.Single(run.Attempts, a => a.StepKey == "forward");
            Assert.Contains($"could not connect to the worker node at http://127.0.0.1:{port}", attempt.ErrorMessage, StringComparison.Ordinal);
            Assert.Equal(1, run.Run.Progress["forward.failedAttempts"]);
            Assert.Equal("waiting_for_worker", run.Run.Phase);
        }
        finally
        {
            foreach (var filler in fillers)
            {
                filler.Dispose();
            }
        }
    }

    [Fact]
    public async Task Forward_EnqueueWithCorrelationId_IdIsOnTheRunAndSentToTheWorker()
    {
        using var content = new StringContent("""{"placeId":"correlated"}""", System.Text.Encoding.UTF8, "application/json");
        content.Headers.ContentType!.CharSet = null;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/enqueue") { Content = content };
        request.Headers.Add("X-Correlation-ID", "trace-7f3a");
        using var response = await _server.Gateway.SendAsync(request);
        var body = await GatewayServer.ReadJsonAsync(response);
        var run = await _server.WaitForRunAsync(body.GetProperty("runId").GetString()!, RunStatus.Succeeded, RunStatus.Failed);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("trace-7f3a", response.Headers.GetValues("X-Correlation-ID").Single());
        Assert.Equal("trace-7f3a", run.Run.CorrelationId);
        Assert.Equal("trace-7f3a", _worker.State.CorrelationIdOf("reviews:correlated:start"));
    }

    [Fact]
    public async Task Forward_EnqueueWithoutCorrelationId_ServerMadeIdIsOnTheRunAndSentToTheWorker()
    {
        using var content = new StringContent("""{"placeId":"uncorrelated"}""", System.Text.Encoding.UTF8, "application/json");
        using var response = await _server.Gateway.PostAsync("/enqueue", content);
        var body = await GatewayServer.ReadJsonAsync(response);
        var run = await _server.WaitForRunAsync(body.GetProperty("runId").GetString()!, RunStatus.Succeeded, RunStatus.Failed);

        var made = response.Headers.GetValues("X-Correlation-ID").Single();
        Assert.Equal(32, made.Length);
        Assert.Equal(made, run.Run.CorrelationId);
        Assert.Equal(made, _worker.State.CorrelationIdOf("reviews:uncorrelated:start"));
    }

    /// <summary>
    /// Enqueues <paramref name="placeId"/> on a gateway whose worker URL answers every request with <paramref name="answer"/>
    /// (raw HTTP), and returns the run once it has succeeded or failed.
    /// </summary>
    private static async Task<RunDetails> ForwardToCannedAnswerAsync(string answer, string placeId)
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serving = CannedHttpAnswer.ServeAsync(listener, answer);
        await using var server = await GatewayServer.StartAsync(new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}"));

        var (_, body, _) = await server.EnqueueAsync(placeId);
        var run = await server.WaitForRunAsync(body.GetProperty("runId").GetString()!, RunStatus.Succeeded, RunStatus.Failed);
        listener.Stop();
        await serving;
        return run;
    }

    private static string[] ForwardSteps(RunDetails run) =>
        run.Steps.Where(s => s.Key.StartsWith("forward", StringComparison.Ordinal)).Select(s => s.Key).Order(StringComparer.Ordinal).ToArray();
}
