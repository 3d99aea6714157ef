using Baton.RabbitMq.Tests.Support;

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
}
