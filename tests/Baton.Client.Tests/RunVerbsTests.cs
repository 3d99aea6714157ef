using System.Net;
using System.Text.Json;

namespace Baton.Client.Tests;

/// <summary>The run verbs of <see cref="BatonApiClient"/> against the real server process on SQLite.</summary>
public sealed class RunVerbsTests(SqliteServerFixture fixture) : IClassFixture<SqliteServerFixture>
{
    [Fact]
    public async Task StartAsync_DemoInput_GetResultAsyncReturnsTypedOutput()
    {
        var client = fixture.NewClient();

        var started = await client.StartAsync("demo", new DemoInput(Items: 3, DelayMs: 0));
        var output = await client.GetResultAsync<DemoOutput>(started.Run.Id).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(started.Created);
        Assert.Equal("demo", started.Run.Workflow);
        Assert.NotNull(output);
        Assert.Equal(3, output.Items);
        Assert.Equal(1 + 4 + 9, output.Sum);
    }

    [Fact]
    public async Task StartAndSendEvent_DefaultJsonElement_SentWithoutABodyAsNoInputOrPayload()
    {
        // A JsonElement left at its default (a model property the JSON it was read from did not have). Before: an
        // InvalidOperationException ("Operation is not valid due to the current state of the object") before any request.
        var client = fixture.NewClient();
        var waiting = await client.StartAsync("demo", new DemoInput(1, 0, WaitFor: "approve"));

        var started = await client.StartAsync("demo", default(JsonElement));
        var accepted = await client.SendEventAsync(waiting.Run.Id, "approve", default(JsonElement));
        var output = await client.GetResultAsync<DemoOutput>(waiting.Run.Id).WaitAsync(TimeSpan.FromSeconds(60));
        var run = await client.GetAsync(started.Run.Id);
        await client.CancelAsync(started.Run.Id);

        Assert.True(started.Created);
        Assert.Null(run!.Input);
        Assert.Equal("approve", accepted.Name);
        Assert.Null(output!.Event);
    }

    [Fact]
    public async Task WatchAsync_RunMoving_PollsTheSummaryAndReadsTheDetailsOnceAtTheEnd()
    {
        var paths = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var client = BatonApiClient.Create(fixture.Server.BaseAddress, fixture.Server.Key, new RecordingHandler(paths) { InnerHandler = new SocketsHttpHandler() });
        var started = await client.StartAsync("demo", new DemoInput(Items: 5, DelayMs: 100, Parallelism: 1));
        var seen = new List<RunSummary>();

        var run = await client.WatchAsync(started.Run.Id, seen.Add).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(RunStatuses.Succeeded, run.Status);
        Assert.NotEmpty(run.Steps);
        Assert.NotEmpty(seen);
        Assert.True(seen[^1].IsFinished);
        Assert.Equal(5, seen[^1].Progress["items.done"]);
        Assert.All(seen, s => Assert.True(s.UpdatedAt >= s.CreatedAt, $"updatedAt {s.UpdatedAt} before createdAt {s.CreatedAt}"));
        var reads = paths.Where(p => p.StartsWith($"/api/runs/{started.Run.Id}", StringComparison.Ordinal)).ToList();
        Assert.Equal(seen.Count, reads.Count(p => p.EndsWith("/summary", StringComparison.Ordinal)));
        Assert.Equal($"/api/runs/{started.Run.Id}", Assert.Single(reads, p => !p.EndsWith("/summary", StringComparison.Ordinal)));
        Assert.Equal($"/api/runs/{started.Run.Id}", reads[^1]);
    }

    [Fact]
    public async Task WatchAsync_ServerWithoutTheSummaryRoute_ReadsTheWholeRunInstead()
    {
        // An older server: its answer to the summary path is the real server's answer to a path no route matches.
        var paths = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var client = BatonApiClient.Create(fixture.Server.BaseAddress, fixture.Server.Key, new RecordingHandler(paths, rename: ("/summary", "/summary-unknown")) { InnerHandler = new SocketsHttpHandler() });
        var started = await client.StartAsync("demo", new DemoInput(Items: 3, DelayMs: 50, Parallelism: 1));
        var seen = new List<RunSummary>();

        var run = await client.WatchAsync(started.Run.Id, seen.Add).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(RunStatuses.Succeeded, run.Status);
        Assert.True(seen[^1].IsFinished);
        Assert.Equal(3, seen[^1].Progress["items.done"]);
        Assert.Equal(run.UpdatedAt, seen[^1].UpdatedAt);
        Assert.Equal($"/api/runs/{started.Run.Id}/summary-unknown", Assert.Single(paths, p => p.Contains("summary", StringComparison.Ordinal)));
        Assert.Equal(seen.Count, paths.Count(p => p == $"/api/runs/{started.Run.Id}"));
    }

    [Fact]
    public async Task GetSummaryAsync_UnknownRun_ReturnsNull()
    {
        var client = fixture.NewClient();

        Assert.Null(await client.GetSummaryAsync(new string('0', 32)));
    }

    [Fact]
    public async Task WatchAsync_StoreUnavailableOnSomeReads_KeepsPollingAndReturnsTheFinishedRun()
    {
        // The server's 503 store-unavailable (a PostgreSQL session terminated, a failover) says to retry in a moment. Before:
        // the first one ended the wait with that exception, so `baton runs watch` exited 1, which scripts read as a failed run.
        var client = BatonApiClient.Create(fixture.Server.BaseAddress, fixture.Server.Key, new StoreOutageHandler(summaryOutages: 2, detailOutages: 2) { InnerHandler = new SocketsHttpHandler() });
        var started = await client.StartAsync("demo", new DemoInput(Items: 2, DelayMs: 0));
        var seen = new List<RunSummary>();

        var run = await client.WatchAsync(started.Run.Id, seen.Add).WaitAsync(TimeSpan.FromSeconds(60));
        var waited = await client.WaitAsync(started.Run.Id, _ => { }).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(RunStatuses.Succeeded, run.Status);
        Assert.NotEmpty(run.Steps);
        Assert.True(seen[^1].IsFinished);
        Assert.Equal(RunStatuses.Succeeded, waited.Status);
    }

    /// <summary>Records each request's path; with <c>rename</c>, first replaces a path's ending (an older server's missing route).</summary>
    private sealed class RecordingHandler(System.Collections.Concurrent.ConcurrentQueue<string> paths, (string From, string To)? rename = null) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (rename is var (from, to) && request.RequestUri!.AbsolutePath.EndsWith(from, StringComparison.Ordinal))
            {
                request.RequestUri = new Uri(request.RequestUri.GetLeftPart(UriPartial.Path)[..^from.Length] + to);
            }

            paths.Enqueue(request.RequestUri!.AbsolutePath);
            return base.SendAsync(request, cancellationToken);
        }
    }

    [Fact]
    public async Task StartAsync_SameIdempotencyKey_ReturnsExistingRunNotCreated()
    {
        var client = fixture.NewClient();
        var key = Guid.NewGuid().ToString("N");

        var first = await client.StartAsync("demo", new DemoInput(1, 0), key);
        var second = await client.StartAsync("demo", new DemoInput(1, 0), key);

        Assert.True(first.Created);
        Assert.False(second.Created);
        Assert.Equal(first.Run.Id, second.Run.Id);
    }

    [Fact]
    public async Task GetResultAsync_FailingRun_ThrowsRunFailedWithTheRun()
    {
        var client = fixture.NewClient();
        var started = await client.StartAsync("demo", new DemoInput(1, 0, Fail: true));

        var ex = await Assert.ThrowsAsync<BatonRunFailedException>(() => client.GetResultAsync<DemoOutput>(started.Run.Id).WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.Equal(RunStatuses.Failed, ex.Run.Status);
        Assert.NotNull(ex.Run.Failure);
        Assert.NotEmpty(ex.Run.Steps);
    }

    [Fact]
    public async Task RetryAsync_FailedRun_Retried()
    {
        var client = fixture.NewClient();
        var started = await client.StartAsync("demo", new DemoInput(1, 0, Fail: true));
        await client.WaitAsync(started.Run.Id).WaitAsync(TimeSpan.FromSeconds(60));

        var retried = await client.RetryAsync(started.Run.Id);

        Assert.Equal("retried", retried.Outcome);
        Assert.Equal(started.Run.Id, retried.Run.Id);
    }

    [Fact]
    public async Task CancelAsync_LongRun_CancelledAndSecondCancelIs409()
    {
        var client = fixture.NewClient();
        var started = await client.StartAsync("demo", new DemoInput(Items: 1, DelayMs: 60_000));

        var cancel = await client.CancelAsync(started.Run.Id);
        var ended = await client.WaitAsync(started.Run.Id).WaitAsync(TimeSpan.FromSeconds(30));
        var again = await Assert.ThrowsAsync<BatonApiException>(() => client.CancelAsync(started.Run.Id));

        Assert.Contains(cancel.Outcome, new[] { "cancelled", "cancel_requested" });
        Assert.Equal(RunStatuses.Cancelled, ended.Status);
        Assert.Equal(HttpStatusCode.Conflict, again.Status);
        Assert.Equal("urn:baton:problem:run-finished", again.Type);
        Assert.Contains("only active runs can be cancelled", again.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendEventAsync_RunWaitingForEvent_OutputCarriesPayload()
    {
        var client = fixture.NewClient();
        var started = await client.StartAsync("demo", new DemoInput(1, 0, WaitFor: "approve"));

        var accepted = await client.SendEventAsync(started.Run.Id, "approve", new { by = "ops" }, "event-1");
        var duplicate = await client.SendEventAsync(started.Run.Id, "approve", new { by = "ops" }, "event-1");
        var output = await client.GetResultAsync<DemoOutput>(started.Run.Id).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.False(accepted.Duplicate);
        Assert.True(duplicate.Duplicate);
        Assert.Equal("ops", output!.Event!.Value.GetProperty("by").GetString());
        var run = await client.GetAsync(started.Run.Id);
        Assert.Single(run!.Events);
    }

    [Fact]
    public async Task GetAsync_UnknownRun_ReturnsNull()
    {
        var client = fixture.NewClient();

        Assert.Null(await client.GetAsync(new string('0', 32)));
        Assert.Null(await client.GetAsync("not-a-run-id"));
    }

    [Fact]
    public async Task StartAsync_UnknownWorkflow_ThrowsNotFoundWithDetail()
    {
        var client = fixture.NewClient();

        var ex = await Assert.ThrowsAsync<BatonApiException>(() => client.StartAsync("no-such-workflow", new { }));

        Assert.Equal(HttpStatusCode.NotFound, ex.Status);
        Assert.Equal("urn:baton:problem:workflow-not-found", ex.Type);
        Assert.Contains("no workflow named 'no-such-workflow'", ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_InputOutOfRange_Throws400AndStoresNothing()
    {
        var client = fixture.NewClient();
        var workflowMarker = await client.ListAsync(new RunQuery { Workflow = "demo", Limit = 1 });

        var ex = await Assert.ThrowsAsync<BatonApiException>(() => client.StartAsync("demo", JsonSerializer.SerializeToElement(new { items = 5000 })));
        var after = await client.ListAsync(new RunQuery { Workflow = "demo", Limit = 1 });

        Assert.Equal(HttpStatusCode.BadRequest, ex.Status);
        Assert.Contains("items must be from 1 to 1000", ex.Message, StringComparison.Ordinal);
        Assert.Equal(workflowMarker.Runs.Count == 0 ? null : workflowMarker.Runs[0].Id, after.Runs.Count == 0 ? null : after.Runs[0].Id);
    }

    [Fact]
    public async Task AnyCall_WrongKey_ThrowsUnauthorizedWithoutTheKey()
    {
        var client = fixture.NewClient("wrong-key-123456");

        var ex = await Assert.ThrowsAsync<BatonApiException>(() => client.ListAsync());

        Assert.True(ex.IsUnauthorized);
        Assert.Equal("Unauthorized", ex.Title);
        Assert.Contains("X-ADMIN-KEY", ex.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-key-123456", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCall_ServerNotListening_ThrowsHttpRequestException()
    {
        var client = BatonApiClient.Create(new Uri($"http://127.0.0.1:{Ports.Free()}/"), "k", timeout: TimeSpan.FromSeconds(10));

        await Assert.ThrowsAsync<HttpRequestException>(() => client.ListWorkflowsAsync());
    }

    [Fact]
    public async Task GetAndDelete_WrongBasePath_ThrowNoRouteInsteadOfSayingTheRunOrScheduleDoesNotExist()
    {
        // Before: any 404 read as "not found", so a wrong base path (a proxy prefix, the dashboard's URL) made an existing
        // run null and a schedule delete false.
        var started = await fixture.NewClient().StartAsync("demo", new DemoInput(1, 0));
        var wrong = BatonApiClient.Create(new Uri(fixture.Server.BaseAddress, "nope/"), fixture.Server.Key);

        var get = await Assert.ThrowsAsync<BatonApiException>(() => wrong.GetAsync(started.Run.Id));
        var delete = await Assert.ThrowsAsync<BatonApiException>(() => wrong.DeleteScheduleAsync("nightly"));

        Assert.Equal((HttpStatusCode.NotFound, "urn:baton:problem:not-found"), (get.Status, get.Type));
        Assert.Equal("urn:baton:problem:not-found", delete.Type);
        Assert.Null(await fixture.NewClient().GetAsync("0123456789abcdef0123456789abcdef"));
        Assert.False(await fixture.NewClient().DeleteScheduleAsync("no-such-schedule"));
    }

    /// <summary>
    /// Answers the first <c>summaryOutages</c> summary reads and the first <c>detailOutages</c> reads of a whole run as the
    /// server answers while its store is unavailable (503, problem+json, <c>Retry-After: 1</c>); the rest go to the server.
    /// </summary>
    private sealed class StoreOutageHandler(int summaryOutages, int detailOutages) : DelegatingHandler
    {
        private int _summaryOutages = summaryOutages;
        private int _detailOutages = detailOutages;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            var reading = request.Method == HttpMethod.Get && path.StartsWith("/api/runs/", StringComparison.Ordinal);
            if (reading && (path.EndsWith("/summary", StringComparison.Ordinal) ? Interlocked.Decrement(ref _summaryOutages) : Interlocked.Decrement(ref _detailOutages)) >= 0)
            {
                var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable)
                {
                    RequestMessage = request,
                    Content = new StringContent(
                        """{"type":"urn:baton:problem:store-unavailable","title":"The store is unavailable","status":503,"detail":"the store could not complete the request (a dropped connection, a failover, a busy database or a full disk); retry in a moment"}""",
                        System.Text.Encoding.UTF8,
                        "application/problem+json"),
                };
                response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(1));
                return Task.FromResult(response);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
