using System.Text.Json;
using Baton.RabbitMq.Wire;

namespace Baton.RabbitMq.Server;

/// <summary>A request pattern answered by an in-process handler.</summary>
internal sealed record HandlerRoute(Func<NestRequest, CancellationToken, Task<JsonElement?>> Handler);

/// <summary>A request pattern that starts a run of <see cref="Workflow"/> and is answered when the run ends.</summary>
internal sealed record RunRoute(string Workflow, Func<NestRequest, JsonElement> ToInput, Func<Baton.Runs.RunDetails, JsonElement>? ErrorReply);

/// <summary>The run-starting routes of every server of the process, by workflow (the reply watcher reads them).</summary>
internal sealed class RunRouteCatalog
{
    private readonly Dictionary<string, RunRoute> _routes = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, RunRoute> Routes => _routes;

    public void Add(RunRoute route)
    {
        if (!_routes.TryAdd(route.Workflow, route))
        {
            throw new ArgumentException($"The workflow {route.Workflow} is already started by another run-starting pattern.", nameof(route));
        }
    }
}

/// <summary>The patterns one server handles, keyed by their NestJS route.</summary>
internal sealed class NestRoutes
{
    private readonly Dictionary<string, object> _requests = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Func<NestEvent, CancellationToken, Task>> _events = new(StringComparer.Ordinal);

    public void AddRequest(string pattern, object route)
    {
        var key = Key(pattern);
        if (!_requests.TryAdd(key, route))
        {
            throw new ArgumentException($"The pattern {key} already has a handler on this server.", nameof(pattern));
        }
    }

    public void AddEvent(string pattern, Func<NestEvent, CancellationToken, Task> handler)
    {
        var key = Key(pattern);
        if (!_events.TryAdd(key, handler))
        {
            throw new ArgumentException($"The event pattern {key} already has a handler on this server.", nameof(pattern));
        }
    }

    public object? Request(string route) => _requests.GetValueOrDefault(route);

    /// <summary>The run-starting routes, with their patterns.</summary>
    public IEnumerable<(string Pattern, RunRoute Route)> RunRoutes =>
        _requests.Where(r => r.Value is RunRoute).Select(r => (r.Key, (RunRoute)r.Value));

    public Func<NestEvent, CancellationToken, Task>? Event(string route) => _events.GetValueOrDefault(route);

    private static string Key(string pattern)
    {
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        return NestPatterns.Route(pattern);
    }
}
