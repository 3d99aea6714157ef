using Baton.Apps.ReviewGateway.Tests.Infrastructure;
using Baton.Runs;
using Baton.Simulators.WorkerNode;

namespace Baton.Apps.ReviewGateway.Tests.Forwarding;

/// <summary>A backoff longer than the engine's retry suspend threshold is a durable wait: the run gives its lease back while it waits.</summary>
public sealed class DurableBackoffTests
{
    [Fact]
    public async Task Forward_WorkerDownWithLongBackoff_RunSuspendsThenDeliversWhenWorkerIsBack()
    {
        await using var worker = WorkerNodeSimulator.CreateStopped(Ports.Free());
        await using var server = await GatewayServer.StartAsync(worker.BaseAddress, new Dictionary<string, string>
        {
            ["Baton:Apps:ReviewGateway:BaseDelay"] = "00:00:01",
            ["Baton:Apps:ReviewGateway:MaxDelay"] = "00:00:01",
            ["Baton:Engine:RetrySuspendThreshold"] = "00:00:00.500",
        });

        var (_, body, _) = await server.EnqueueAsync("suspend-me");
        var runId = body.GetProperty("runId").GetString()!;
        // Read from the store: the client's view has no lease, and the suspended state and its lease are read together.
        var waiting = (await Poll.UntilAsync(() => server.Store.Runs.GetRunAsync(runId), r => r?.Status == RunStatus.Suspended, $"run {runId} to be suspended"))!;
        await worker.StartListeningAsync();
        var done = await server.WaitForRunAsync(runId, RunStatus.Succeeded, RunStatus.Failed);

        Assert.Null(waiting.LeaseOwner);
        Assert.Equal("waiting_for_worker", waiting.Phase);
        Assert.Equal(RunStatus.Succeeded, done.Run.Status);
        Assert.Equal(1, worker.State.Jobs["reviews:suspend-me:start"]);
    }
}
