using System.Diagnostics;
using System.Text.Json;
using Baton.RabbitMq.Connection;
using Baton.RabbitMq.Wire;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Baton.RabbitMq.Server;

/// <summary>What to do with a delivery once it was handled.</summary>
internal enum Settle
{
    Ack,
    /// <summary>Reject without requeue: dead-lettered or dropped (a failed event).</summary>
    Drop,
    /// <summary>Nothing could be stored (the store is down): deliver it again after a pause.</summary>
    Requeue,
}

/// <summary>
/// Consumes one queue as a NestJS RMQ server: declares the queue, sets the prefetch, consumes with manual
/// acknowledgement and dispatches each message to its pattern's route. Starting never blocks the host: the consumer is
/// set up in the background and retried until the broker answers; after that, the client library's topology recovery
/// brings the queue and the consumer back after a broker restart.
/// </summary>
internal sealed class NestServer(
    string queue,
    NestServerOptions options,
    NestRoutes routes,
    IRabbitMqConnection connection,
    ConfirmedPublisher publisher,
    RunStarter runStarter,
    Baton.Workflows.IWorkflowCatalog? workflows,
    RabbitMqMetrics metrics,
    TimeProvider time,
    ILogger<NestServer> logger) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _starting;
    private IChannel? _channel;
    private string? _consumerTag;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // A run-starting pattern for a workflow this node does not have would answer every request with an error.
        foreach (var (pattern, route) in routes.RunRoutes)
        {
            if (workflows is null || !workflows.TryGet(route.Workflow, out _))
            {
                throw new InvalidOperationException(
                    $"The pattern {pattern} on queue {queue} starts the workflow {route.Workflow}, which is not registered: add it with AddWorkflow.");
            }
        }

        _starting = Task.Run(() => ConsumeUntilStartedAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>The consuming channel (tests break it on purpose).</summary>
    internal IChannel? Channel => _channel;

    /// <summary>Completes once the consumer is registered (tests and benchmarks wait for it).</summary>
    internal Task Started => _starting ?? Task.CompletedTask;

    private async Task ConsumeUntilStartedAsync(CancellationToken stopping)
    {
        var logged = false;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var open = await connection.GetAsync(stopping).ConfigureAwait(false);
                var channel = await open.CreateChannelAsync(
                    new CreateChannelOptions(false, false, consumerDispatchConcurrency: options.Concurrency), stopping).ConfigureAwait(false);
                await channel.QueueDeclareAsync(queue, options.DurableQueue, exclusive: false, autoDelete: false, arguments: null, cancellationToken: stopping)
                    .ConfigureAwait(false);
                await channel.BasicQosAsync(0, options.Prefetch, false, stopping).ConfigureAwait(false);
                var consumer = new AsyncEventingBasicConsumer(channel);
                consumer.ReceivedAsync += OnReceivedAsync;
                consumer.UnregisteredAsync += (_, _) => OnConsumerCancelledAsync(channel);
                channel.ChannelShutdownAsync += (_, args) => OnChannelShutdownAsync(channel, args);
                _channel = channel;
                _consumerTag = await channel.BasicConsumeAsync(queue, autoAck: false, consumer, stopping).ConfigureAwait(false);
                Log.ServerListening(logger, queue, options.Prefetch, options.Concurrency);
                return;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                if (!logged)
                {
                    Log.ServerStartFailed(logger, queue, ex.Message);
                    logged = true;
                }

                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), time, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    // A channel closed by the broker for a channel-level error (not a lost connection: recovery brings that back with
    // its consumers) would leave the queue without a consumer: open a new one.
    private Task OnChannelShutdownAsync(IChannel channel, ShutdownEventArgs args)
    {
        // AMQP 4xx reply codes are channel errors (403, 404, 405, 406); connection errors are 320 and 5xx.
        if (args.ReplyCode is >= 400 and < 500 && !_stopping.IsCancellationRequested && ReferenceEquals(channel, _channel))
        {
            Log.ServerStartFailed(logger, queue, $"the broker closed the channel: {args.ReplyText}");
            _starting = Task.Run(() => ConsumeUntilStartedAsync(_stopping.Token), CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    // The broker cancels a consumer whose queue was deleted (basic.cancel) and keeps the channel open: nothing else would
    // notice, and the server would serve nothing until the connection next dropped (a reviewer's deleted
    // orchestrator_queue: the NestJS client declared it again, with no consumer). Declare it again and consume.
    private Task OnConsumerCancelledAsync(IChannel channel)
    {
        if (_stopping.IsCancellationRequested || !ReferenceEquals(channel, _channel) || !channel.IsOpen)
        {
            return Task.CompletedTask;
        }

        Log.ServerStartFailed(logger, queue, "the broker cancelled the consumer (the queue was deleted?); declaring it again");
        _channel = null;
        _starting = Task.Run(() => ConsumeUntilStartedAsync(_stopping.Token), CancellationToken.None);
        // Closed off this callback: closing a channel from its own consumer's dispatch waits for that dispatch (a deadlock
        // that stalled the connection until its heartbeat failed).
        _ = Task.Run(async () =>
        {
            try
            {
                await channel.CloseAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The old channel is of no further use either way.
            }
        }, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task OnReceivedAsync(object sender, BasicDeliverEventArgs delivery)
    {
        var channel = ((AsyncEventingBasicConsumer)sender).Channel;
        var started = Stopwatch.GetTimestamp();
        Settle settle;
        string outcome;
        try
        {
            (settle, outcome) = await HandleAsync(delivery, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The reply could not be published or the store could not be read: the message goes back to the queue
            // (after the pause below) to be handled again; if the channel is gone with its connection, the broker
            // has already put it back.
            Log.DeliveryLost(logger, delivery.BasicProperties.CorrelationId, queue, ex.Message);
            (settle, outcome) = (Settle.Requeue, "lost");
        }

        try
        {
            switch (settle)
            {
                case Settle.Ack:
                    await channel.BasicAckAsync(delivery.DeliveryTag, false, CancellationToken.None).ConfigureAwait(false);
                    break;
                case Settle.Drop:
                    await channel.BasicRejectAsync(delivery.DeliveryTag, requeue: false, CancellationToken.None).ConfigureAwait(false);
                    break;
                default:
                    // A pause first, so a store that is down does not turn into a hot redelivery loop.
                    await Task.Delay(TimeSpan.FromSeconds(1), time, _stopping.Token).ConfigureAwait(false);
                    await channel.BasicRejectAsync(delivery.DeliveryTag, requeue: true, CancellationToken.None).ConfigureAwait(false);
                    break;
            }

            metrics.ServerMessage(queue, outcome, started);
        }
        catch (Exception ex)
        {
            Log.DeliveryLost(logger, delivery.BasicProperties.CorrelationId, queue, ex.Message);
        }
    }

    private async Task<(Settle, string)> HandleAsync(BasicDeliverEventArgs delivery, CancellationToken stopping)
    {
        var properties = delivery.BasicProperties;
        var replyTo = properties.ReplyTo;
        if (delivery.Body.Length > options.MaxMessageBytes)
        {
            var id = properties.CorrelationId;
            var reason = $"The message has {delivery.Body.Length} bytes; the limit is {options.MaxMessageBytes}.";
            Log.BadMessage(logger, queue, id, reason);
            await ReplyAsync(replyTo, id, id is null ? null : NestWire.ErrorReply(id, reason), stopping).ConfigureAwait(false);
            return (Settle.Ack, "bad_message");
        }

        var packet = NestWire.Parse(delivery.Body, out var error);
        if (packet is null)
        {
            var id = NestWire.TryReadId(delivery.Body) ?? properties.CorrelationId;
            Log.BadMessage(logger, queue, id, error!);
            // Correlated as every reply is, by the request's correlationId property first (before: by the body's id).
            await ReplyAsync(replyTo, properties.CorrelationId ?? id, id is null ? null : NestWire.ErrorReply(id, error!), stopping).ConfigureAwait(false);
            return (Settle.Ack, "bad_message");
        }

        if (packet.Id is null)
        {
            return await HandleEventAsync(packet, stopping).ConfigureAwait(false);
        }

        var request = new NestRequest(packet.Route, packet.Data, packet.Id, replyTo, properties.CorrelationId ?? packet.Id);
        switch (routes.Request(packet.Route))
        {
            case HandlerRoute handler:
                var reply = await InvokeAsync(handler, request, stopping).ConfigureAwait(false);
                await ReplyAsync(replyTo, request.CorrelationId, reply.Body, stopping).ConfigureAwait(false);
                return (Settle.Ack, reply.Outcome);
            case RunRoute run:
                return await runStarter.StartAsync(queue, run, request, stopping).ConfigureAwait(false);
            default:
                Log.NoHandler(logger, queue, packet.Route, packet.Id);
                await ReplyAsync(replyTo, request.CorrelationId, NestWire.NoHandlerReply(packet.Id), stopping).ConfigureAwait(false);
                return (Settle.Ack, "no_handler");
        }
    }

    private async Task<(byte[] Body, string Outcome)> InvokeAsync(HandlerRoute route, NestRequest request, CancellationToken stopping)
    {
        try
        {
            var response = await route.Handler(request, stopping).ConfigureAwait(false);
            return (NestWire.Reply(request.Id, response), "replied");
        }
        catch (NestRpcException rpc)
        {
            return (NestWire.ErrorReply(request.Id, rpc.Error), "error");
        }
        catch (Exception ex) when (!stopping.IsCancellationRequested)
        {
            Log.HandlerFailed(logger, ex, request.Pattern, queue, request.Id);
            return (NestWire.ErrorReply(request.Id, NestWire.InternalErrorMessage), "error");
        }
    }

    private async Task<(Settle, string)> HandleEventAsync(NestPacket packet, CancellationToken stopping)
    {
        if (routes.Event(packet.Route) is not { } handler)
        {
            Log.NoHandler(logger, queue, packet.Route, null);
            return (Settle.Ack, "no_handler");
        }

        try
        {
            await handler(new NestEvent(packet.Route, packet.Data), stopping).ConfigureAwait(false);
            return (Settle.Ack, "event");
        }
        catch (Exception ex) when (!stopping.IsCancellationRequested)
        {
            Log.HandlerFailed(logger, ex, packet.Route, queue, null);
            return (Settle.Drop, "event_failed");
        }
    }

    private async Task ReplyAsync(string? replyTo, string? correlationId, byte[]? body, CancellationToken stopping)
    {
        if (string.IsNullOrEmpty(replyTo) || body is null)
        {
            return;
        }

        var properties = new BasicProperties { CorrelationId = NestWire.ReplyCorrelationId(correlationId), ContentType = "application/json" };
        await publisher.PublishAsync(replyTo, properties, body, stopping).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_channel is { IsOpen: true } channel && _consumerTag is { } tag)
        {
            try
            {
                // No new deliveries; unacknowledged ones go back to the queue when the channel closes.
                await channel.BasicCancelAsync(tag, false, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The connection is already gone: so are the deliveries.
            }
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_starting is { } starting)
        {
            await starting.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        await Channels.CloseQuietlyAsync(_channel, cancellationToken).ConfigureAwait(false);
    }
}
