using System.Text.Json;
using Baton.Hosting;
using Baton.RabbitMq.Server;

namespace Baton.RabbitMq;

/// <summary>
/// The patterns of one NestJS-compatible server (<see cref="BatonRabbitMqExtensions.AddNestServer"/>). A pattern is a
/// string (<c>"orchestrator.health.ping"</c>) or the JSON text of an object pattern (<c>{"cmd":"sum"}</c>), matched
/// as NestJS matches it: objects by their JSON with keys sorted.
/// </summary>
public sealed class NestServerBuilder
{
    internal NestServerBuilder(BatonBuilder baton, string queue)
    {
        Baton = baton;
        Queue = queue;
    }

    /// <summary>The Baton builder, to go on configuring.</summary>
    public BatonBuilder Baton { get; }

    /// <summary>The queue this server consumes.</summary>
    public string Queue { get; }

    internal NestRoutes Routes { get; } = new();

    /// <summary>
    /// A request/reply pattern handled in-process (reads, health). The handler's result is the reply's <c>response</c>;
    /// a <see cref="NestRpcException"/> becomes <c>{"err": Error}</c>; any other exception becomes
    /// <c>{"err":{"status":"error","message":"Internal server error"}}</c> (as NestJS answers) and is logged.
    /// The message is acknowledged after the reply's publish is confirmed by the broker.
    /// </summary>
    public NestServerBuilder AddNestPattern(string pattern, Func<NestRequest, CancellationToken, Task<JsonElement?>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Routes.AddRequest(pattern, new HandlerRoute(handler));
        return this;
    }

    /// <summary>
    /// An event pattern (no id, no reply). The message is acknowledged after the handler returns; a handler that
    /// throws is logged and the message is rejected without requeue (dead-lettered when the queue has a dead-letter
    /// exchange, dropped otherwise), so a failing event never loops.
    /// </summary>
    public NestServerBuilder AddNestEvent(string pattern, Func<NestEvent, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Routes.AddEvent(pattern, handler);
        return this;
    }
}
