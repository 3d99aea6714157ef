using System.Text.RegularExpressions;

namespace Baton.Server.Logging;

/// <summary>
/// Replaces configured secrets (<see cref="LogSecret"/>) by value, wherever they appear: as written and
/// percent-encoded (either hex case), so a key in a URL path segment or under any parameter name is caught,
/// not only under names like <c>key</c>. The password of a URL's user info (<c>http://user:pw@host</c>) is
/// masked whatever it is.
/// </summary>
internal sealed partial class SecretRedactor
{
    /// <summary>Longest first, so a secret that contains another is replaced whole.</summary>
    private readonly (string Value, StringComparison Comparison)[] _forms;

    public SecretRedactor(IEnumerable<LogSecret> secrets)
    {
        _forms = secrets
            .Select(s => s.Value)
            .Where(v => v.Length >= LogSecret.MinimumLength)
            .Distinct(StringComparer.Ordinal)
            .SelectMany(v => new[] { (v, StringComparison.Ordinal), (Uri.EscapeDataString(v), StringComparison.OrdinalIgnoreCase) })
            .DistinctBy(f => f.Item1, StringComparer.Ordinal)
            .OrderByDescending(f => f.Item1.Length)
            .ToArray();
    }

    /// <summary>True when <paramref name="text"/> holds a secret or a URL with a password.</summary>
    public bool Contains(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        foreach (var (value, comparison) in _forms)
        {
            if (text.Contains(value, comparison))
            {
                return true;
            }
        }

        return text.Contains("://", StringComparison.Ordinal) && UserInfoPassword().IsMatch(text);
    }

    /// <summary><paramref name="text"/> with every secret and URL password replaced by <c>***</c>.</summary>
    public string Redact(string text)
    {
        if (!Contains(text))
        {
            return text;
        }

        foreach (var (value, comparison) in _forms)
        {
            text = text.Replace(value, Redaction.Mask, comparison);
        }

        return text.Contains("://", StringComparison.Ordinal) ? UserInfoPassword().Replace(text, Redaction.Mask) : text;
    }

    /// <summary>
    /// The exception itself when no message in its chain holds a secret; otherwise a stand-in with the same
    /// type name, messages and stack traces, secrets replaced. Either way the stack trace reaches the log.
    /// </summary>
    public Exception Redact(Exception exception) => Chain(exception).Any(e => Contains(e.Message)) ? new RedactedException(exception, this) : exception;

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        yield return exception;
        IEnumerable<Exception> inner = exception is AggregateException aggregate
            ? aggregate.InnerExceptions
            : exception.InnerException is { } one ? [one] : [];
        foreach (var child in inner.SelectMany(Chain))
        {
            yield return child;
        }
    }

    /// <summary>
    /// A URL's password: from the colon after the user name to the last '@' of the same word. Not to the first '/' or '@':
    /// the text of a URL that does not parse (as an exception quotes it) often holds one in its password. A '@' in the
    /// path of a URL with a port (<c>http://host:8080/a@b</c>) then masks the port and path too: shown short, never leaked.
    /// </summary>
    [GeneratedRegex(@"(?<=://[^/\s:@]*:)\S+(?=@)", RegexOptions.CultureInvariant)]
    private static partial Regex UserInfoPassword();
}

/// <summary>
/// What is logged in place of an exception whose messages held a secret: <see cref="ToString"/> is the
/// original's text (type, messages, inner exceptions, stack traces) with the secrets replaced.
/// </summary>
internal sealed class RedactedException : Exception
{
    private readonly string _text;
    private readonly string? _stackTrace;

    public RedactedException(Exception original, SecretRedactor redactor)
        : base(redactor.Redact(original.Message))
    {
        _text = redactor.Redact(original.ToString());
        _stackTrace = original.StackTrace;
        OriginalType = original.GetType();
        HResult = original.HResult;
    }

    /// <summary>The type of the exception this stands in for.</summary>
    public Type OriginalType { get; }

    public override string? StackTrace => _stackTrace;

    public override string ToString() => _text;
}
