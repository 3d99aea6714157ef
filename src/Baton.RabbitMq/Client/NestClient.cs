using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Baton.RabbitMq.Connection;
using Baton.RabbitMq.Wire;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Baton.RabbitMq.Client;

/// <summary>
/// A NestJS ClientRMQ in C#: one channel with publisher confirms that also consumes direct reply-to
/// (<c>amq.rabbitmq.reply-to</c>, no reply queue to declare or clean up), and a map from correlation id to the waiting
/// call. When the channel goes down the calls still waiting fail at once: their replies were addressed to the old
/// channel and can never arrive.
/// </summary>
internal sealed class NestClient(
    string queue,
    NestClientOptions options,
    IRabbitMqConnection connection,
    TimeSpan publishConfirmTimeout,
    RabbitMqMetrics metrics,
    TimeProvider time,
    ILogger<NestClient> logger) : INestClient, IAsyncDisposable
{
    internal const string DirectReplyTo = "amq.rabbitmq.reply-to";
    private static readonly JsonSerializerOptions DataJson = new(JsonSerializerDefaults.Web);

    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonDocument>> _pending = new(StringComparer.Ordinal);
    private ChannelSlot? _channel;

    private ChannelSlot Slot => LazyInitializer.EnsureInitialized(ref _channel, () => new ChannelSlot(connection, OpenChannelAsync));

    public async Task<JsonElement?> SendAsync(string pattern, object? data, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        var started = Stopwatch.GetTimestamp();
        var id = Guid.NewGuid().ToString();
        var waiting = new TaskCompletionSource<JsonDocument>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = waiting;
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        JsonDocument reply;
        try
        {
            var channel = await Slot.GetAsync(linked.Token).ConfigureAwait(false);
            var properties = new BasicProperties
            {
                ReplyTo = DirectReplyTo,
                CorrelationId = id,
                ContentType = "application/json",
                Persistent = options.Persistent,
            };
            await ConfirmedPublisher.PublishAsync(channel, queue, properties, NestWire.Request(pattern, ToJson(data), id), publishConfirmTimeout, time, linked.Token)
                .ConfigureAwait(false);
            reply = await waiting.Task.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            metrics.ClientCall(queue, "timeout", started);
            throw new TimeoutException($"No reply to {pattern} from queue {queue} within {timeout.TotalMilliseconds:0} ms.");
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            metrics.ClientCall(queue, "failed", started);
            if (ex is RabbitMQ.Client.Exceptions.AlreadyClosedException or RabbitMQ.Client.Exceptions.OperationInterruptedException or RabbitMQ.Client.Exceptions.PublishException)
            {
                throw new RabbitMqUnavailableException($"The request to {pattern} on queue {queue} could not be sent: {ex.Message}", ex);
            }

            throw;
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }

        using (reply)
        {
            var root = reply.RootElement;
            if (root.TryGetProperty("err", out var err) && IsError(err))
            {
                metrics.ClientCall(queue, "error", started);
                throw new NestRpcException(err);
            }

            metrics.ClientCall(queue, "ok", started);
            return root.TryGetProperty("response", out var response) && response.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined)
                ? response.Clone()
                : null;
        }
    }

    public async Task EmitAsync(string pattern, object? data, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var channel = await Slot.GetAsync(cancellationToken).ConfigureAwait(false);
            var properties = new BasicProperties { ContentType = "application/json", Persistent = options.Persistent };
            await ConfirmedPublisher.PublishAsync(channel, queue, properties, NestWire.Request(pattern, ToJson(data), id: null), publishConfirmTimeout, time, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (RabbitMqUnavailableException)
        {
            metrics.ClientCall(queue, "failed", started);
            throw;
        }
        catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.AlreadyClosedException or RabbitMQ.Client.Exceptions.OperationInterruptedException or RabbitMQ.Client.Exceptions.PublishException)
        {
            metrics.ClientCall(queue, "failed", started);
            throw new RabbitMqUnavailableException($"The event {pattern} to queue {queue} could not be published: {ex.Message}", ex);
        }

        metrics.ClientCall(queue, "event", started);
    }

    private static JsonElement ToJson(object? data) => data switch
    {
        null => default,
        JsonElement element => element,
        JsonDocument document => document.RootElement,
        _ => JsonSerializer.SerializeToElement(data, data.GetType(), DataJson),
    };

    // NestJS clients treat any truthy err as an error.
    private static bool IsError(JsonElement err) => err.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined or JsonValueKind.False => false,
        JsonValueKind.String => err.GetString()!.Length > 0,
        JsonValueKind.Number => err.GetDouble() != 0,
        _ => true,
    };

    private async Task<IChannel> OpenChannelAsync(IConnection open, CancellationToken cancellationToken)
    {
        if (options.DeclareQueue)
        {
            await DeclareAsync(open, cancellationToken).ConfigureAwait(false);
        }

        var channel = await open.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken).ConfigureAwait(false);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += OnReplyAsync;
        channel.ChannelShutdownAsync += OnChannelShutdownAsync;
        await channel.BasicConsumeAsync(DirectReplyTo, autoAck: true, consumer, cancellationToken).ConfigureAwait(false);
        return channel;
    }

    // On a channel of its own: a declaration that does not match the existing queue closes the channel it was made on.
    private async Task DeclareAsync(IConnection open, CancellationToken cancellationToken)
    {
        var channel = await open.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            await channel.QueueDeclareAsync(queue, options.DurableQueue, exclusive: false, autoDelete: false, arguments: null, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            await channel.CloseAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.DeclareFailed(logger, queue, ex.Message);
        }
        finally
        {
            channel.Dispose();
        }
    }

    private Task OnReplyAsync(object sender, BasicDeliverEventArgs delivery)
    {
        if (delivery.BasicProperties.CorrelationId is not { } id || !_pending.TryGetValue(id, out var waiting))
        {
            return Task.CompletedTask;
        }

        if (delivery.Body.Length > options.MaxReplyBytes)
        {
            waiting.TrySetException(new NestRpcException($"The reply has {delivery.Body.Length} bytes; the limit is {options.MaxReplyBytes}."));
            return Task.CompletedTask;
        }

        try
        {
            // The body is the client library's pooled buffer, valid only during this callback: the document keeps a copy.
            var document = JsonDocument.Parse(delivery.Body.ToArray());
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                throw new JsonException("not a JSON object");
            }

            if (!waiting.TrySetResult(document))
            {
                document.Dispose();
            }
        }
        catch (JsonException ex)
        {
            Log.BadReply(logger, id, queue, ex.Message);
            waiting.TrySetException(new NestRpcException("The reply is not a JSON object."));
        }

        return Task.CompletedTask;
    }

    private Task OnChannelShutdownAsync(object sender, ShutdownEventArgs args)
    {
        foreach (var (_, waiting) in _pending)
        {
            waiting.TrySetException(new RabbitMqUnavailableException(
                $"The channel to RabbitMQ closed while waiting for a reply from queue {queue} ({args.ReplyText}); the reply cannot arrive."));
        }

        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => _channel?.DisposeAsync() ?? ValueTask.CompletedTask;
}
