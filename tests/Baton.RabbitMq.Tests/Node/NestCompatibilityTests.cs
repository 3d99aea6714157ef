using System.Text.Json;
using Baton.RabbitMq.Tests.Support;

namespace Baton.RabbitMq.Tests.Node;

/// <summary>
/// Compatibility with the real @nestjs/microservices 12 (Node 20): its ClientRMQ drives a Baton server, and Baton's
/// INestClient calls a real NestJS RMQ microservice.
/// </summary>
public sealed class NestCompatibilityTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task NestJsClient_CallsBatonServer_RepliesErrorsAndEventMatchNestJs()
    {
        var queue = RabbitMqBroker.NewQueueName("nest-compat");
        var received = new TaskCompletionSource<NestEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await NestHost.StartAsync(
            b => b.AddWorkflow<RunInput, RunOutput>("compat-run", (_, input, _) => Task.FromResult(new RunOutput(input.Value * 2)))
                .AddNestServer(queue)
                .AddNestPattern("compat.sum", (r, _) => Json(new { sum = r.Data.GetProperty("a").GetInt32() + r.Data.GetProperty("b").GetInt32() }))
                .AddNestPattern("""{"cmd":"mul","role":"math"}""", (r, _) => Json(new { product = r.Data.GetProperty("a").GetInt32() * r.Data.GetProperty("b").GetInt32() }))
                .AddNestPattern("compat.fail", (_, _) => throw new NestRpcException(JsonSerializer.SerializeToElement(new { code = "E_FAIL", message = "nope" })))
                .AddNestPattern("compat.run", "compat-run", r => new RunInput(r.Data.GetProperty("value").GetInt32()))
                .AddNestEvent("compat.event", (e, _) =>
                {
                    received.TrySetResult(e);
                    return Task.CompletedTask;
                }),
            queues: [queue]);

        await using var node = await NodeScripts.StartAsync("nest-client.mjs", RabbitMqBroker.Url, queue);
        var line = await node.WaitForLineAsync(l => l.StartsWith('{'), "the NestJS client's results");
        var results = JsonDocument.Parse(line).RootElement;

        Assert.Equal(5, results.GetProperty("string").GetProperty("response").GetProperty("sum").GetInt32());
        Assert.Equal(20, results.GetProperty("object").GetProperty("response").GetProperty("product").GetInt32());
        Assert.Equal("There is no matching message handler defined in the remote service.", results.GetProperty("unknown").GetProperty("err").GetString());
        Assert.Equal("E_FAIL", results.GetProperty("rpcError").GetProperty("err").GetProperty("code").GetString());
        Assert.Equal(42, results.GetProperty("run").GetProperty("response").GetProperty("doubled").GetInt32());
        var got = await received.Task.WaitAsync(Timeout);
        Assert.Equal("hello from nest", got.Data.GetProperty("note").GetString());
    }

    [Fact]
    public async Task BatonClient_CallsNestJsServer_RepliesErrorsAndEventArrive()
    {
        var queue = RabbitMqBroker.NewQueueName("nest-compat");
        await using var node = await NodeScripts.StartAsync("nest-server.mjs", RabbitMqBroker.Url, queue);
        await node.WaitForLineAsync(l => l == "READY", "the NestJS microservice to listen");
        await using var host = await NestHost.StartAsync(b => b.AddNestClient("nest", queue), queues: [queue]);
        var client = host.Client("nest");

        var sum = await client.SendAsync("svc.sum", new { a = 2, b = 3 }, Timeout);
        var product = await client.SendAsync("""{"cmd":"mul","role":"math"}""", new { a = 4, b = 5 }, Timeout);
        var rpc = await Assert.ThrowsAsync<NestRpcException>(() => client.SendAsync("svc.fail", new { }, Timeout));
        var boom = await Assert.ThrowsAsync<NestRpcException>(() => client.SendAsync("svc.boom", new { }, Timeout));
        var unknown = await Assert.ThrowsAsync<NestRpcException>(() => client.SendAsync("svc.unknown", new { }, Timeout));
        await client.EmitAsync("svc.event", new { note = "hello from baton" });
        var eventLine = await node.WaitForLineAsync(l => l.StartsWith("EVENT ", StringComparison.Ordinal), "the event to reach the NestJS handler");

        Assert.Equal(5, sum!.Value.GetProperty("sum").GetInt32());
        Assert.Equal(20, product!.Value.GetProperty("product").GetInt32());
        Assert.Equal("E_FAIL", rpc.Error.GetProperty("code").GetString());
        Assert.Equal("""{"status":"error","message":"Internal server error"}""", boom.Error.GetRawText());
        Assert.Equal("There is no matching message handler defined in the remote service.", unknown.Error.GetString());
        Assert.Equal("hello from baton", JsonDocument.Parse(eventLine["EVENT ".Length..]).RootElement.GetProperty("note").GetString());
    }

    private static Task<JsonElement?> Json(object value) => Task.FromResult<JsonElement?>(JsonSerializer.SerializeToElement(value));

    internal sealed record RunInput(int Value);

    internal sealed record RunOutput(int Doubled);
}
