using System.Text.Json;
using Baton.Hosting;
using Baton.RabbitMq.Server;
using Baton.Runs;

namespace Baton.RabbitMq;

/// <summary>
/// The patterns of one NestJS-compatible server (<see cref="BatonRabbitMqExtensions.AddNestServer"/>). A pattern is a
/// string (<c>"orchestrator.health.ping"</c>) or the JSON text of an object pattern (<c>{"cmd":"sum"}</c>), matched
/// as NestJS matches it: objects by their JSON with keys sorted.
/// </summary>
public sealed class NestServerBuilder
{
    private static readonly JsonSerializerOptions InputJson = new(JsonSerializerDefaults.Web);
    private readonly RunRouteCatalog _runRoutes;

    internal NestServerBuilder(BatonBuilder baton, string queue, RunRouteCatalog runRoutes)
    {
        Baton = baton;
        Queue = queue;
        _runRoutes = runRoutes;
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
    /// A request pattern that starts a Baton run durably: the engine's inbox stores a run of <paramref name="workflow"/>
    /// with the request's NestJS id as its idempotency key (so a redelivered or repeated request finds the same run and
    /// starts nothing twice), and the message is acknowledged only after the run is stored. The reply is sent when the
    /// run ends, also after a restart of this process: its output as the <c>response</c>, or
    /// <paramref name="errorReply"/>(the run with its steps) as the <c>err</c> when it failed, was cancelled or compensated
    /// (default: <c>{"status":"error","message":failure,"runId","runStatus"}</c>). A repeated id gets the same outcome.
    /// <paramref name="toInput"/> maps the request to the workflow's input (serialized with web defaults, camelCase);
    /// if it throws, or the inbox rejects the input, the caller gets an error reply and nothing is stored.
    /// </summary>
    public NestServerBuilder AddNestPattern<TInput>(
        string pattern, string workflow, Func<NestRequest, TInput> toInput, Func<RunDetails, JsonElement>? errorReply = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(workflow);
        ArgumentNullException.ThrowIfNull(toInput);
        var route = new RunRoute(workflow, request => JsonSerializer.SerializeToElement(toInput(request), InputJson), errorReply);
        Routes.AddRequest(pattern, route);
        _runRoutes.Add(route);
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
