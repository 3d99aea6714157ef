using System.Text.Json;
using Baton.RabbitMq.Wire;

namespace Baton.RabbitMq.Server;

/// <summary>A request pattern answered by an in-process handler.</summary>
internal sealed record HandlerRoute(Func<NestRequest, CancellationToken, Task<JsonElement?>> Handler);

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

    public Func<NestEvent, CancellationToken, Task>? Event(string route) => _events.GetValueOrDefault(route);

    private static string Key(string pattern)
    {
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        return NestPatterns.Route(pattern);
    }
}
