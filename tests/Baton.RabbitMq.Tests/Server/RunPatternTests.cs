using System.Text.Json;
using Baton.Hosting;
using Baton.RabbitMq.Tests.Support;
using Baton.Runs;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.RabbitMq.Tests.Server;

/// <summary>Run-starting patterns: the inbox stores a run per request id and the reply goes out when the run ends.</summary>
public sealed class RunPatternTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task RunPattern_RunSucceeds_ReplyIsRunOutput()
    {
        var queue = RabbitMqBroker.NewQueueName();
        await using var host = await NestHost.StartAsync(b => Configure(b, queue).Baton.AddNestClient("svc", queue), queues: [queue]);

        var response = await host.Client("svc").SendAsync("order.total", new { price = 7, quantity = 3 }, Timeout);

        Assert.Equal(21, response!.Value.GetProperty("total").GetInt32());
        var run = Assert.Single((await host.Services.GetRequiredService<IBatonClient>().ListRunsAsync(new ListRunsRequest { Workflow = "total" })).Runs);
        Assert.Equal(RunStatus.Succeeded, run.Status);
    }

    [Fact]
    public async Task RunPattern_RepeatedRequestId_SameOutcomeAndOneRun()
    {
        var queue = RabbitMqBroker.NewQueueName();
        await using var host = await NestHost.StartAsync(b => Configure(b, queue), queues: [queue]);
        await using var raw = await RawAmqp.ConnectAsync();
        const string Request = """{"pattern":"order.total","data":{"price":5,"quantity":4},"id":"req-1"}""";

        await raw.PublishJsonAsync(queue, Request, "first");
        var first = await raw.ReplyAsync("first");
        await raw.PublishJsonAsync(queue, Request, "second");
        var second = await raw.ReplyAsync("second");

        Assert.Equal(20, first.GetProperty("response").GetProperty("total").GetInt32());
        Assert.Equal(first.GetProperty("response").GetRawText(), second.GetProperty("response").GetRawText());
        Assert.Equal("req-1", second.GetProperty("id").GetString());
        var runs = await host.Services.GetRequiredService<IBatonClient>().ListRunsAsync(new ListRunsRequest { Workflow = "total" });
        Assert.Equal("req-1", Assert.Single(runs.Runs).IdempotencyKey);
    }

    [Fact]
    public async Task RunPattern_RunFails_ErrorReplyFromRunDetails()
    {
        var queue = RabbitMqBroker.NewQueueName();
        await using var host = await NestHost.StartAsync(
            b => b.AddWorkflow<OrderInput, OrderTotal>("total", async (ctx, input, ct) =>
                {
                    await ctx.StepAsync("charge", _ => Task.FromException<int>(new InvalidOperationException("card declined")),
                        new Steps.StepOptions { Retry = Retries.RetryPolicy.None }, cancellationToken: ct);
                    return new OrderTotal(0);
                })
                .AddNestClient("svc", queue)
                .AddNestServer(queue)
                .AddNestPattern("order.total", "total", r => r.Data.Deserialize<OrderInput>(JsonSerializerOptions.Web)!,
                    details => JsonSerializer.SerializeToElement(new { message = details.Run.Failure!.Message, step = details.Steps[0].Key })),
            queues: [queue]);

        var error = await Assert.ThrowsAsync<NestRpcException>(() => host.Client("svc").SendAsync("order.total", new { price = 1, quantity = 1 }, Timeout));

        Assert.Equal("card declined", error.Error.GetProperty("message").GetString());
        Assert.Equal("charge", error.Error.GetProperty("step").GetString());
    }

    [Fact]
    public async Task RunPattern_ErrorReplyThrows_DefaultErrorReplySent()
    {
        var queue = RabbitMqBroker.NewQueueName();
        await using var host = await NestHost.StartAsync(
            b => b.AddWorkflow<OrderInput, OrderTotal>("total", (_, _, _) => Task.FromException<OrderTotal>(new InvalidOperationException("out of stock")))
                .AddNestClient("svc", queue)
                .AddNestServer(queue)
                .AddNestPattern("order.total", "total", r => r.Data.Deserialize<OrderInput>(JsonSerializerOptions.Web)!,
                    _ => throw new InvalidOperationException("bug in errorReply")),
            queues: [queue]);

        var error = await Assert.ThrowsAsync<NestRpcException>(() => host.Client("svc").SendAsync("order.total", new { price = 1, quantity = 1 }, Timeout));

        Assert.Equal("out of stock", error.Message);
        Assert.Equal("failed", error.Error.GetProperty("runStatus").GetString());
    }

    [Fact]
    public async Task RunPattern_ToInputThrowsNestRpcException_ItsErrorIsTheReplyAsIsAndNothingStored()
    {
        // Before: flattened to {"status":"error","message":"Invalid request: <message>"}, losing the pattern's statusCode and
        // errors (a gateway that maps statusCode to an HTTP status answered 500 for a bad create).
        var queue = RabbitMqBroker.NewQueueName();
        await using var host = await NestHost.StartAsync(
            b => b.AddWorkflow<OrderInput, OrderTotal>("total", (_, input, _) => Task.FromResult(new OrderTotal(input.Price * input.Quantity)))
                .AddNestClient("svc", queue)
                .AddNestServer(queue)
                .AddNestPattern<OrderInput>("order.total", "total", _ => throw new NestRpcException(JsonSerializer.SerializeToElement(
                    new { status = "error", statusCode = 400, message = "validation failed: price must be positive", errors = new[] { "price must be positive" } }))),
            queues: [queue]);

        var error = await Assert.ThrowsAsync<NestRpcException>(() => host.Client("svc").SendAsync("order.total", new { price = -1, quantity = 1 }, Timeout));

        Assert.Equal(400, error.Error.GetProperty("statusCode").GetInt32());
        Assert.Equal("validation failed: price must be positive", error.Error.GetProperty("message").GetString());
        Assert.Equal("price must be positive", error.Error.GetProperty("errors")[0].GetString());
        Assert.Empty((await host.Services.GetRequiredService<IBatonClient>().ListRunsAsync(new ListRunsRequest { Workflow = "total" })).Runs);
    }

    [Fact]
    public async Task RunPattern_InputNotMatchingWorkflow_ErrorReplyAndNothingStored()
    {
        var queue = RabbitMqBroker.NewQueueName();
        await using var host = await NestHost.StartAsync(b => Configure(b, queue).Baton.AddNestClient("svc", queue), queues: [queue]);

        var error = await Assert.ThrowsAsync<NestRpcException>(() => host.Client("svc").SendAsync("order.total", new { price = 1 }, Timeout));

        Assert.Contains("quantity", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Empty((await host.Services.GetRequiredService<IBatonClient>().ListRunsAsync(new ListRunsRequest { Workflow = "total" })).Runs);
    }

    [Fact]
    public async Task RunPattern_EventWhoseInputIsRefused_LoggedAcknowledgedNothingStored()
    {
        // An event (no replyTo) whose run cannot start has nobody to answer. Before: acknowledged without a word.
        var queue = RabbitMqBroker.NewQueueName();
        await using var host = await NestHost.StartAsync(b => Configure(b, queue), queues: [queue]);
        await using var raw = await RawAmqp.ConnectAsync();

        await raw.PublishAsync(queue, System.Text.Encoding.UTF8.GetBytes("""{"pattern":"order.total","data":{"price":1},"id":"ev-1"}"""), correlationId: null, replyToMe: false);

        var refused = await Poll.UntilAsync(
            () => Task.FromResult(host.Logs.Entries.FirstOrDefault(e => e.EventId == 4107)), e => e is not null, "the refusal to be logged", Timeout);
        Assert.Contains("event ev-1 for order.total on queue " + queue + " refused, no run started (", refused!.Message, StringComparison.Ordinal);
        Assert.Contains("quantity", refused.Message, StringComparison.OrdinalIgnoreCase);
        await Poll.UntilAsync(() => raw.ReadyCountAsync(queue), n => n == 0, "the event to be acknowledged", Timeout);
        Assert.Empty((await host.Services.GetRequiredService<IBatonClient>().ListRunsAsync(new ListRunsRequest { Workflow = "total" })).Runs);
    }

    [Fact]
    public async Task GracefulStop_RunEndsWhileTheServerDrains_TheCallerStillGetsItsReply()
    {
        // Before: the reply watchers were cancelled as the stop began, while the worker still drained the run: the run
        // succeeded, no reply went out, and the caller timed out (after a restart more than a minute later, for good).
        var queue = RabbitMqBroker.NewQueueName();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await NestHost.StartAsync(b => b
            .AddWorkflow<OrderInput, OrderTotal>("total", async (ctx, input, ct) => await ctx.StepAsync("price", async _ =>
            {
                entered.TrySetResult();
                await release.Task;
                return new OrderTotal(input.Price * input.Quantity);
            }, cancellationToken: ct))
            .AddNestServer(queue)
            .AddNestPattern("order.total", "total", r => r.Data.Deserialize<OrderInput>(JsonSerializerOptions.Web)!), queues: [queue]);
        await using var caller = await NestHost.StartAsync(b => b.AddNestClient("svc", queue));
        try
        {
            var reply = caller.Client("svc").SendAsync("order.total", new { price = 6, quantity = 7 }, Timeout);
            await entered.Task.WaitAsync(Timeout);

            var stopping = server.StopAsync();
            await Task.Delay(300);
            release.SetResult();
            await stopping.WaitAsync(Timeout);
            var response = await reply;

            Assert.Equal(42, response!.Value.GetProperty("total").GetInt32());
        }
        finally
        {
            release.TrySetResult();
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Start_RunPatternForUnregisteredWorkflow_FailsWithClearMessage()
    {
        var queue = RabbitMqBroker.NewQueueName();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => NestHost.StartAsync(b => b
            .AddNestServer(queue)
            .AddNestPattern("order.total", "no-such-workflow", r => r.Data)));

        Assert.Equal($"The pattern order.total on queue {queue} starts the workflow no-such-workflow, which is not registered: add it with AddWorkflow.", error.Message);
    }

    private static NestServerBuilder Configure(BatonBuilder baton, string queue) => baton
        .AddWorkflow<OrderInput, OrderTotal>("total", (_, input, _) => Task.FromResult(new OrderTotal(input.Price * input.Quantity)))
        .AddNestServer(queue)
        .AddNestPattern("order.total", "total", r => r.Data.Deserialize<OrderInput>(JsonSerializerOptions.Web)
            ?? throw new ArgumentException("data is required"));

    internal sealed record OrderInput
    {
        public required int Price { get; init; }

        public required int Quantity { get; init; }
    }

    internal sealed record OrderTotal(int Total);
}
