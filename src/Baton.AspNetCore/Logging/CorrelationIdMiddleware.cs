using System.Collections;
using System.Diagnostics;
using Baton.Server.Http;

namespace Baton.Server.Logging;

/// <summary>
/// Takes the request's <c>X-Correlation-ID</c> (or, without one, uses the request's W3C trace id, so a
/// caller's <c>traceparent</c> carries over), returns it in the response header and
/// puts it in a log scope for everything the request logs. Endpoints read it with
/// <see cref="RequestCorrelation.Get"/> and store it on the runs they start, so the engine's log lines
/// for that run carry it.
/// </summary>
internal sealed class CorrelationIdMiddleware(RequestDelegate next, ILogger<CorrelationIdMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var id = context.Request.Headers[RequestCorrelation.HeaderName].ToString();
        if (!RequestCorrelation.IsAcceptable(id))
        {
            // The trace id is random already (a per-thread generator); Guid.NewGuid would cost a read of
            // /dev/urandom per request.
            id = Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity
                ? activity.TraceId.ToHexString()
                : Guid.NewGuid().ToString("N");
        }

        RequestCorrelation.Set(context, id);
        // Static, with the context as state: no closure and delegate per request. The id is read back from the request's feature.
        context.Response.OnStarting(static state =>
        {
            var http = (HttpContext)state;
            http.Response.Headers[RequestCorrelation.HeaderName] = RequestCorrelation.Get(http);
            return Task.CompletedTask;
        }, context);
        using (logger.BeginScope(new CorrelationScope(id)))
        {
            await next(context).ConfigureAwait(false);
        }
    }
}

/// <summary>
/// The request's log scope: one <c>CorrelationId</c> value for structured formatters, and a
/// <see cref="ToString"/> of <c>CorrelationId:&lt;id&gt;</c> for those that print the scope as text (the JSON
/// console's scope <c>Message</c>, the simple console), which a dictionary would print as its type name.
/// </summary>
internal sealed class CorrelationScope(string id) : IReadOnlyList<KeyValuePair<string, object?>>
{
    private readonly KeyValuePair<string, object?> _value = new("CorrelationId", id);

    public int Count => 1;

    public KeyValuePair<string, object?> this[int index] => index == 0 ? _value : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return _value;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"CorrelationId:{id}";
}
