using System.Net;
using System.Text.Json;

namespace Baton.Client;

/// <summary>
/// The server refused a request: its RFC 9457 problem details (or, for a refused admin key, the 401 body) as an
/// exception. <see cref="Exception.Message"/> is "{title}: {detail}" and never holds the admin key.
/// </summary>
public class BatonApiException : Exception
{
    public BatonApiException(HttpStatusCode status, string title, string? detail, string? type = null, IReadOnlyDictionary<string, JsonElement>? extensions = null)
        : base(detail is { Length: > 0 } ? $"{title}: {detail}" : title)
    {
        Status = status;
        Title = title;
        Detail = detail;
        Type = type;
        Extensions = extensions ?? new Dictionary<string, JsonElement>();
    }

    public BatonApiException()
        : this(HttpStatusCode.InternalServerError, "Baton API error", null)
    {
    }

    public BatonApiException(string message)
        : this(HttpStatusCode.InternalServerError, message, null)
    {
    }

    public BatonApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        Title = message;
        Extensions = new Dictionary<string, JsonElement>();
    }

    /// <summary>The HTTP status code.</summary>
    public HttpStatusCode Status { get; }

    /// <summary>The problem's title (for a 401, the body's <c>error</c>).</summary>
    public string Title { get; }

    /// <summary>What to change, from the problem's <c>detail</c>.</summary>
    public string? Detail { get; }

    /// <summary>The problem type, e.g. <c>urn:baton:problem:concurrency-conflict</c>; null when the server sent none.</summary>
    public string? Type { get; }

    /// <summary>The problem's other members (e.g. <c>activeRun</c> on a concurrency conflict).</summary>
    public IReadOnlyDictionary<string, JsonElement> Extensions { get; }

    /// <summary>True for 401: the admin key is missing or wrong.</summary>
    public bool IsUnauthorized => Status == HttpStatusCode.Unauthorized;
}

/// <summary>A run awaited by <see cref="BatonApiClient.GetResultAsync{TOutput}"/> ended without succeeding.</summary>
public sealed class BatonRunFailedException : Exception
{
    public BatonRunFailedException(RunView run)
        : base($"run {run.Id} of '{run.Workflow}' is {run.Status}" + (run.Failure is { } f ? $": {f.Message}" : ""))
    {
        Run = run;
    }

    /// <summary>The run as it ended.</summary>
    public RunView Run { get; }
}
