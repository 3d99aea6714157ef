using Baton.RabbitMq.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.RabbitMq.Tests.Recovery;

/// <summary>
/// A server process SIGKILLed after it acknowledged a request (the run is stored) and before the run ended: the restarted
/// process finishes the run and sends the reply the caller is still waiting for, and the run exists once.
/// </summary>
public sealed class ServerCrashTests
{
    [Fact]
    public async Task ServerKilledBetweenAckAndReply_AfterRestart_CallerGetsReplyFromOneRun()
    {
        var queue = RabbitMqBroker.NewQueueName();
        var directory = TestPaths.NewTempDirectory();
        var gate = Path.Combine(directory, "gate");
        var effects = Path.Combine(directory, "effects.log");
        string[] arguments =
        [
            "--db", Path.Combine(directory, "baton.db"), "--url", RabbitMqBroker.Url, "--queue", queue,
            "--node", "crash-node", "--gate", gate, "--effects", effects,
        ];
        var hostDll = Path.Combine(TestPaths.OutputDirectory("tests", "Baton.RabbitMq.TestHost"), "Baton.RabbitMq.TestHost.dll");
        await using var raw = await RawAmqp.ConnectAsync();
        try
        {
            await using (var first = ChildProcess.Start(hostDll, arguments, []))
            {
                await first.WaitForLineAsync(l => l == "READY", "the first host to consume");
                await raw.PublishJsonAsync(queue, """{"pattern":"gated.double","data":{"value":21},"id":"crash-req"}""", "crash-req");
                // The step has started: the run was stored, so the request was acknowledged.
                await Poll.UntilAsync(() => Task.FromResult(File.Exists(effects)), e => e, "the run's step to start");
                Assert.Equal(0u, await raw.ReadyCountAsync(queue));
                first.Kill();
            }

            await using var second = ChildProcess.Start(hostDll, arguments, []);
            await second.WaitForLineAsync(l => l == "READY", "the restarted host to consume");
            await File.WriteAllTextAsync(gate, "open");
            var reply = await raw.ReplyAsync("crash-req");

            Assert.Equal(42, reply.GetProperty("response").GetProperty("doubled").GetInt32());
            Assert.Equal("crash-req", reply.GetProperty("id").GetString());
            var runIds = (await File.ReadAllLinesAsync(effects)).Distinct().ToList();
            Assert.Equal(reply.GetProperty("response").GetProperty("runId").GetString(), Assert.Single(runIds));
        }
        finally
        {
            await NestHost.DeleteQueuesAsync(RabbitMqBroker.Url, [queue]);
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task RunEndedWhileNoServerWatched_ServerStart_ResendsTheReply()
    {
        var queue = RabbitMqBroker.NewQueueName();
        var directory = TestPaths.NewTempDirectory();
        var database = Path.Combine(directory, "baton.db");
        await using var raw = await RawAmqp.ConnectAsync();
        try
        {
            // A node that takes the request (the run is stored, the message acknowledged) but executes nothing.
            await using (var accepting = await NestHost.StartAsync(Serve(queue), database: database, engine: o => o.RunWorker = false))
            {
                await raw.PublishJsonAsync(queue, """{"pattern":"double","data":{"value":4},"id":"ended-req"}""", "ended-req");
                await Poll.UntilAsync(() => CountRunsAsync(accepting), n => n == 1, "the run to be stored");
            }

            // A node without the RabbitMQ server runs it to its end: nobody watches it for its reply.
            await using (var worker = await NestHost.StartAsync(b => b.AddWorkflow<DoubleInput, DoubleOutput>("double", Double), database: database))
            {
                await Poll.UntilAsync(() => SucceededAsync(worker), n => n == 1, "the run to end");
            }

            await using var restarted = await NestHost.StartAsync(Serve(queue), database: database, queues: [queue]);
            var reply = await raw.ReplyAsync("ended-req");

            Assert.Equal(8, reply.GetProperty("response").GetProperty("doubled").GetInt32());
            Assert.Equal("ended-req", reply.GetProperty("id").GetString());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static Action<Baton.Hosting.BatonBuilder> Serve(string queue) => b => b
        .AddWorkflow<DoubleInput, DoubleOutput>("double", Double)
        .AddNestServer(queue)
        .AddNestPattern("double", "double", r => new DoubleInput(r.Data.GetProperty("value").GetInt32()));

    private static Task<DoubleOutput> Double(Baton.Workflows.IWorkflowContext context, DoubleInput input, CancellationToken cancellationToken) =>
        Task.FromResult(new DoubleOutput(input.Value * 2));

    private static async Task<int> CountRunsAsync(NestHost host) =>
        (await host.Services.GetRequiredService<Baton.Runs.IBatonClient>().ListRunsAsync(new Baton.Runs.ListRunsRequest { Workflow = "double" })).Runs.Count;

    private static async Task<int> SucceededAsync(NestHost host) =>
        (await host.Services.GetRequiredService<Baton.Runs.IBatonClient>().ListRunsAsync(
            new Baton.Runs.ListRunsRequest { Workflow = "double", Status = Baton.Runs.RunStatus.Succeeded })).Runs.Count;

    internal sealed record DoubleInput(int Value);

    internal sealed record DoubleOutput(int Doubled);
}
