using System.Net;
using Baton.Apps.ReviewGateway.Tests.Infrastructure;
using Baton.Runs;
using Baton.Simulators.WorkerNode;

namespace Baton.Apps.ReviewGateway.Tests.Enqueue;

/// <summary>The same placeId names the same job: one active forward per job id, a new forward once it finished.</summary>
public sealed class IdempotencyTests : IAsyncLifetime
{
    private WorkerNodeSimulator _worker = null!;
    private GatewayServer _server = null!;

    public async Task InitializeAsync()
    {
        // Down from the start: runs stay unforwarded (pending or waiting for a retry) until it is started.
        _worker = WorkerNodeSimulator.CreateStopped(Ports.Free());
        _server = await GatewayServer.StartAsync(_worker.BaseAddress);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _worker.DisposeAsync();
    }

    [Fact]
    public async Task Enqueue_SamePlaceIdWhileUnforwarded_ReturnsSameJobIdAndStoresOneRun()
    {
        var first = await _server.EnqueueAsync("idem-pending");
        var repeats = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => _server.EnqueueAsync("idem-pending")));

        Assert.Equal(HttpStatusCode.Accepted, first.Status);
        Assert.False(first.Body.GetProperty("duplicate").GetBoolean());
        var runId = first.Body.GetProperty("runId").GetString();
        foreach (var repeat in repeats)
        {
            Assert.Equal(HttpStatusCode.Accepted, repeat.Status);
            Assert.Equal("reviews:idem-pending:start", repeat.Body.GetProperty("jobId").GetString());
            Assert.Equal(runId, repeat.Body.GetProperty("runId").GetString());
            Assert.True(repeat.Body.GetProperty("duplicate").GetBoolean());
        }

        Assert.Single(await _server.RunsAsync(), r => r.ConcurrencyKey == "reviews:idem-pending:start");
    }

    [Fact]
    public async Task Enqueue_ConcurrentFirstRequestsForOnePlaceId_StoreOneRun()
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => _server.EnqueueAsync("idem-race")));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a.Status));
        Assert.Single(answers.Select(a => a.Body.GetProperty("runId").GetString()).Distinct());
        Assert.Single(answers, a => !a.Body.GetProperty("duplicate").GetBoolean());
        Assert.Single(await _server.RunsAsync(), r => r.ConcurrencyKey == "reviews:idem-race:start");
    }

    [Fact]
    public async Task Enqueue_WorkerDown_Accepts202AndDeliversOnceAfterWorkerComesUp()
    {
        var placeIds = Enumerable.Range(0, 10).Select(i => $"down-{i}").ToList();
        var answers = await Task.WhenAll(placeIds.Select(_server.EnqueueAsync));
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a.Status));
        // Attempts fail with connection refused while it is down (each a failed attempt of the one forward step).
        await Poll.UntilAsync(
            async () => (await _server.RunAsync(answers[0].Body.GetProperty("runId").GetString()!))!.Attempts.Count(a => a.ErrorMessage is not null),
            failed => failed >= 1,
            "a failed attempt while the worker is down");

        await _worker.StartListeningAsync();

        foreach (var answer in answers)
        {
            var run = await _server.WaitForRunAsync(answer.Body.GetProperty("runId").GetString()!, RunStatus.Succeeded, RunStatus.Failed);
            Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        }

        foreach (var placeId in placeIds)
        {
            Assert.Equal(1, _worker.State.Jobs[$"reviews:{placeId}:start"]);
        }
    }

    [Fact]
    public async Task Enqueue_SamePlaceIdAfterForwarded_StartsNewForwardThatWorkerDeduplicates()
    {
        await _worker.StartListeningAsync();
        var first = await _server.EnqueueAsync("idem-again");
        await _server.WaitForRunAsync(first.Body.GetProperty("runId").GetString()!, RunStatus.Succeeded);

        var second = await _server.EnqueueAsync("idem-again");
        var secondRun = await _server.WaitForRunAsync(second.Body.GetProperty("runId").GetString()!, RunStatus.Succeeded);

        Assert.Equal(HttpStatusCode.Accepted, second.Status);
        Assert.Equal("reviews:idem-again:start", second.Body.GetProperty("jobId").GetString());
        Assert.NotEqual(first.Body.GetProperty("runId").GetString(), second.Body.GetProperty("runId").GetString());
        Assert.False(second.Body.GetProperty("duplicate").GetBoolean());
        // Delivered twice with the same Idempotency-Key: the worker keeps one job (its second answer is 200 duplicate).
        Assert.Equal(2, _worker.State.Jobs["reviews:idem-again:start"]);
        Assert.Equal(200, System.Text.Json.JsonDocument.Parse(secondRun.Run.Output!).RootElement.GetProperty("workerStatus").GetInt32());
    }
}
