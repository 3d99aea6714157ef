using System.Collections;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Baton.Server.Logging;

/// <summary>
/// Puts <see cref="SecretRedactor"/> in front of every logger the host hands out, whatever its provider
/// (console, JSON console, a test's): the message, the state values a structured formatter writes and a
/// logged exception and the scopes lose every configured secret before any provider sees them. The wrapped factory keeps
/// its providers and filter rules.
/// </summary>
internal sealed class RedactingLoggerFactory(LoggerFactory inner, SecretRedactor redactor) : ILoggerFactory
{
    /// <summary>Replaces the host's <see cref="ILoggerFactory"/> registration with this wrapper around the same factory.</summary>
    public static void Install(IServiceCollection services)
    {
        services.RemoveAll<ILoggerFactory>();
        services.AddSingleton<LoggerFactory>();
        services.AddSingleton<SecretRedactor>();
        services.AddSingleton<ILoggerFactory>(sp => new RedactingLoggerFactory(sp.GetRequiredService<LoggerFactory>(), sp.GetRequiredService<SecretRedactor>()));
    }

    public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName), redactor);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose()
    {
        // The container disposes the wrapped factory it created.
    }

    /// <summary>The text a formatter would write for a state value; null for values that cannot hold a secret (numbers, times).</summary>
    private static string? Text(object? value) => value switch
    {
        null => null,
        string text => text,
        _ when value.GetType().IsPrimitive || value is DateTimeOffset or DateTime or TimeSpan or decimal or Enum => null,
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Indexed, without LINQ: this runs for every line and every request scope.</summary>
    private static bool AnySecret(IReadOnlyList<KeyValuePair<string, object?>> values, SecretRedactor redactor)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (redactor.Contains(Text(values[i].Value)))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class RedactingLogger(ILogger inner, SecretRedactor redactor) : ILogger
    {
        /// <summary>Scopes are written too (ASP.NET Core's request scope carries the path), so they are checked like a line's values.</summary>
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull =>
            state is IReadOnlyList<KeyValuePair<string, object?>> values && AnySecret(values, redactor)
                ? inner.BeginScope(new RedactedState(values, redactor, redactor.Redact(state.ToString() ?? "")))
                : state is string text && redactor.Contains(text) ? inner.BeginScope(redactor.Redact(text)) : inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!inner.IsEnabled(logLevel))
            {
                return;
            }

            var safeException = exception is null ? null : redactor.Redact(exception);
            var message = formatter(state, exception);
            if (state is IReadOnlyList<KeyValuePair<string, object?>> values && AnySecret(values, redactor))
            {
                inner.Log(logLevel, eventId, new RedactedState(values, redactor, redactor.Redact(message)), safeException, static (s, _) => s.Message);
                return;
            }

            var safeMessage = redactor.Redact(message);
            inner.Log(logLevel, eventId, state, safeException, (_, _) => safeMessage);
        }

    }

    /// <summary>The state values of a line that held a secret, each value that held one replaced by its redacted text.</summary>
    private sealed class RedactedState(IReadOnlyList<KeyValuePair<string, object?>> values, SecretRedactor redactor, string message)
        : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private readonly KeyValuePair<string, object?>[] _values = values
            .Select(v => Text(v.Value) is { } text && redactor.Contains(text) ? new KeyValuePair<string, object?>(v.Key, redactor.Redact(text)) : v)
            .ToArray();

        public string Message { get; } = message;

        public int Count => _values.Length;

        public KeyValuePair<string, object?> this[int index] => _values[index];

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_values).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => Message;
    }
}
