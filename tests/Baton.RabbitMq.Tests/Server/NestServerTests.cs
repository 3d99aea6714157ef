using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Baton.RabbitMq.Tests.Support;

namespace Baton.RabbitMq.Tests.Server;

/// <summary>The server side of the NestJS wire format on the real broker: replies, error replies, bad input, events.</summary>
public sealed class NestServerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task SendAsync_StringPattern_ReturnsHandlerResponse()
    {
        var queue = RabbitMqBroker.NewQueueName();
        await using var host = await NestHost.StartAsync(b => b
            .AddNestClient("svc", queue)
            .AddNestServer(queue)
            .AddNestPattern("math.sum", (request, _) => Task.FromResult<JsonElement?>(
                JsonSerializer.SerializeToElement(new { sum = request.Data.GetProperty("a").GetInt32() + request.Data.GetProperty("b").GetInt32() }))),
            queues: [queue]);

        var response = await host.Client("svc").SendAsync("math.sum", new { a = 2, b = 3 }, Timeout);

        Assert.Equal(5, response!.Value.GetProperty("sum").GetInt32());
    }

    [Fact]
    public async Task SendAsync_ObjectPatternWithOtherKeyOrder_MatchesSortedKeys()
    {
        var queue = RabbitMqBroker.NewQueueName();
        await using var host = await NestHost.StartAsync(b => b
            .AddNestClient("svc", queue)
            .AddNestServer(queue)
            .AddNestPattern("""{"role":"math","cmd":"sum"}""", (request, _) => Task.FromResult<JsonElement?>(JsonSerializer.SerializeToElement(request.Pattern))),
            queues: [queue]);

        var response = await host.Client("svc").SendAsync("""{"cmd":"sum","role":"math"}""", new { }, Timeout);

        Assert.Equal("""{"cmd":"sum","role":"math"}""", response!.Value.GetString());
    }

    [Fact]
    public async Task SendAsync_UnknownPattern_ThrowsNestNoHandlerError()
    {
        var queue = RabbitMqBroker.NewQueueName();
        await using var host = await NestHost.StartAsync(b => b.AddNestClient("svc", queue).AddNestServer(queue), queues: [queue]);

        var error = await Assert.ThrowsAsync<NestRpcException>(() => host.Client("svc").SendAsync("no.such.pattern", new { }, Timeout));

        Assert.Equal("There is no matching message handler defined in the remote service.", error.Error.GetString());
    }

    [Fact]
    public async Task Reply_UnknownPattern_HasNestShapeAndIsAcked()
    {
        var queue = RabbitMqBroker.NewQueueName();
        await using var host = await NestHost.StartAsync(b => b.AddNestServer(queue), queues: [queue]);
        await using var raw = await RawAmqp.ConnectAsync();

        await raw.PublishJsonAsync(queue, """{"pattern":"nope","data":{},"id":"id-1"}""", "id-1");
        var reply = await raw.ReplyAsync("id-1");

        Assert.Equal("There is no matching message handler defined in the remote service.", reply.GetProperty("err").GetString());
        Assert.Equal("error", reply.GetProperty("status").GetString());
        Assert.True(reply.GetProperty("isDisposed").GetBoolean());
        Assert.Equal("id-1", reply.GetProperty("id").GetString());
        await host.StopAsync();
        Assert.Equal(0u, await raw.ReadyCountAsync(queue));
    }

    [Fact]
    public async Task Reply_Success_HasErrNullResponseIsDisposedAndId()
    {
        var queue = RabbitMqBroker.NewQueueName();
        await using var host = await NestHost.StartAsync(
            b => b.AddNestServer(queue).AddNestPattern("ping", (_, _) => Task.FromResult<JsonElement?>(JsonSerializer.SerializeToElement("pong"))),
            queues: [queue]);
        await using var raw = await RawAmqp.ConnectAsync();

        await raw.PublishJsonAsync(queue, """{"pattern":"ping","data":null,"id":"id-2"}""", "id-2");
        var reply = await raw.ReplyAsync("id-2");

        Assert.Equal("""{"err":null,"response":"pong","isDisposed":true,"id":"id-2"}""", reply.GetRawText());
    }

    [Fact]
    public async Task SendAsync_HandlerThrowsNestRpcException_ThrowsWithItsErr()
    {
        var queue = RabbitMqBroker.NewQueueName();
        await using var host = await NestHost.StartAsync(b => b
            .AddNestClient("svc", queue)
            .AddNestServer(queue)
            .AddNestPattern("fail", (_, _) => throw new NestRpcException(JsonSerializer.SerializeToElement(new { code = 42, message = "nope" }))),
            queues: [queue]);

        var error = await Assert.ThrowsAsync<NestRpcException>(() => host.Client("svc").SendAsync("fail", new { }, Timeout));

        Assert.Equal(42, error.Error.GetProperty("code").GetInt32());
        Assert.Equal("nope", error.Message);
    }

    [Fact]
    public async Task SendAsync_HandlerThrowsOtherException_ThrowsInternalServerError()
    {
        var queue = RabbitMqBroker.NewQueueName();
        await using var host = await NestHost.StartAsync(b => b
            .AddNestClient("svc", queue)
            .AddNestServer(queue)
            .AddNestPattern("boom", (_, _) => throw new InvalidOperationException("secret detail")),
            queues: [queue]);

        var error = await Assert.ThrowsAsync<NestRpcException>(() => host.Client("svc").SendAsync("boom", new { }, Timeout));

        Assert.Equal("""{"status":"error","message":"Internal server error"}""", error.Error.GetRawText());
    }

    [Fact]
    public async Task Server_NonJsonBody_AckedWithErrorReply()
    {
        var queue = RabbitMqBroker.NewQueueName();
        var handled = new StrongBox<int>();
        await using var host = await CountingHostAsync(queue, handled, maxMessageBytes: 1024 * 1024);
        await using var raw = await RawAmqp.ConnectAsync();

        await raw.PublishAsync(queue, Encoding.UTF8.GetBytes("this is { not json"), "bad-1");
        var reply = await raw.ReplyAsync("bad-1");

        Assert.Equal("The message is not JSON.", reply.GetProperty("err").GetProperty("message").GetString());
        Assert.Equal("bad-1", reply.GetProperty("id").GetString());
        Assert.Equal(0, handled.Value);
        await host.StopAsync();
        Assert.Equal(0u, await raw.ReadyCountAsync(queue));
    }

    [Fact]
    public async Task Server_JsonNestedPastTheLimit_ErrorReplySaysSoNotThatItIsNotJson()
    {
        var queue = RabbitMqBroker.NewQueueName();
        var handled = new StrongBox<int>();
        await using var host = await CountingHostAsync(queue, handled, maxMessageBytes: 1024 * 1024);
        await using var raw = await RawAmqp.ConnectAsync();
        var deep = new string('[', 70) + new string(']', 70);

        await raw.PublishAsync(queue, Encoding.UTF8.GetBytes("""{"pattern":"math.sum","id":"deep-1","data":{"x":""" + deep + "}}"), "deep-1");
        var reply = await raw.ReplyAsync("deep-1");

        Assert.Equal("The message is JSON nested deeper than 64 levels, which the server does not read.", reply.GetProperty("err").GetProperty("message").GetString());
        Assert.Equal(0, handled.Value);
    }

    [Fact]
    public async Task Server_OversizedBody_AckedWithErrorReplyAndNotHandled()
    {
        var queue = RabbitMqBroker.NewQueueName();
        var handled = new StrongBox<int>();
        await using var host = await CountingHostAsync(queue, handled, maxMessageBytes: 1024);
        await using var raw = await RawAmqp.ConnectAsync();

        var big = JsonSerializer.Serialize(new { pattern = "ping", data = new string('x', 4096), id = "big-1" });
        await raw.PublishJsonAsync(queue, big, "big-1");
        var reply = await raw.ReplyAsync("big-1");

        Assert.Contains("the limit is 1024", reply.GetProperty("err").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, handled.Value);
        await host.StopAsync();
        Assert.Equal(0u, await raw.ReadyCountAsync(queue));
    }

    [Fact]
    public async Task EmitAsync_Event_HandlerReceivesDataAndNoReply()
    {
        var queue = RabbitMqBroker.NewQueueName();
        var received = new TaskCompletionSource<NestEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await NestHost.StartAsync(b => b
            .AddNestClient("svc", queue)
            .AddNestServer(queue)
            .AddNestEvent("doctor.profile.updated", (e, _) =>
            {
                received.TrySetResult(e);
                return Task.CompletedTask;
            }),
            queues: [queue]);

        await host.Client("svc").EmitAsync("doctor.profile.updated", new { doctorId = "d-1" });
        var got = await received.Task.WaitAsync(Timeout);

        Assert.Equal("doctor.profile.updated", got.Pattern);
        Assert.Equal("d-1", got.Data.GetProperty("doctorId").GetString());
    }

    [Fact]
    public async Task Event_HandlerThrows_RejectedWithoutRequeueAndNeverRedelivered()
    {
        var queue = RabbitMqBroker.NewQueueName();
        var failing = 0;
        var next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // One message at a time: a requeued event would come back before the one sent after it.
        await using var host = await NestHost.StartAsync(b => b
            .AddNestClient("svc", queue)
            .AddNestServer(queue, o => (o.Prefetch, o.Concurrency) = (1, 1))
            .AddNestEvent("bad.event", (_, _) =>
            {
                Interlocked.Increment(ref failing);
                throw new InvalidOperationException("handler bug");
            })
            .AddNestEvent("next.event", (_, _) =>
            {
                next.TrySetResult();
                return Task.CompletedTask;
            }),
            queues: [queue]);
        await using var raw = await RawAmqp.ConnectAsync();

        await host.Client("svc").EmitAsync("bad.event", new { });
        await host.Client("svc").EmitAsync("next.event", new { });
        await next.Task.WaitAsync(Timeout);

        Assert.Equal(1, failing);
        Assert.Equal(0u, await raw.ReadyCountAsync(queue));
        Assert.Contains(host.Logs.Entries, e => e.Exception?.Contains("handler bug", StringComparison.Ordinal) == true);
    }

    // A server whose "ping" pattern counts its calls: bad input must never reach it.
    private static Task<NestHost> CountingHostAsync(string queue, StrongBox<int> handled, int maxMessageBytes) =>
        NestHost.StartAsync(
            b => b.AddNestServer(queue, o => o.MaxMessageBytes = maxMessageBytes).AddNestPattern("ping", (_, _) =>
            {
                Interlocked.Increment(ref handled.Value);
                return Task.FromResult<JsonElement?>(null);
            }),
            queues: [queue]);
}
