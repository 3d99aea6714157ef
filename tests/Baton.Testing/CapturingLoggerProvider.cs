using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Baton.Testing;

/// <summary>
/// The one capturing logger of the test projects: keeps every log line (message, state values, exception and scope
/// values) as text, for greps (secrets, stack traces, scopes).
/// </summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<CapturedLog> _entries = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyCollection<CapturedLog> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    /// <summary>All captured text in one string.</summary>
    public string AllText() => string.Join('\n', _entries.Select(e => e.ToString()));

    private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => provider._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = new List<string>();
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                values.AddRange(pairs.Select(p => $"{p.Key}={p.Value}"));
            }

            var scopes = new List<string>();
            provider._scopes.ForEachScope(
                (scope, list) =>
                {
                    if (scope is IEnumerable<KeyValuePair<string, object?>> scopePairs)
                    {
                        list.AddRange(scopePairs.Select(p => $"{p.Key}={p.Value}"));
                    }
                    else
                    {
                        list.Add(scope?.ToString() ?? "");
                    }
                },
                scopes);
            provider._entries.Enqueue(new CapturedLog(category, logLevel, eventId.Id, formatter(state, exception), values, scopes, exception?.ToString()));
        }
    }
}

/// <summary>One captured log line.</summary>
public sealed record CapturedLog(string Category, LogLevel Level, int EventId, string Message, IReadOnlyList<string> Values, IReadOnlyList<string> Scopes, string? Exception)
{
    public override string ToString() =>
        $"{Level} {Category}[{EventId}] {Message} | {string.Join(' ', Values)} | scopes: {string.Join(' ', Scopes)} | {Exception}";
}
