using System.Diagnostics;
using OpenTelemetry;

namespace Baton.Server.Logging;

/// <summary>
/// Masks configured secrets in a span before it is exported, as the log lines are masked: a key sent in a URL path
/// (<c>/api/runs/{key}</c>) was exported as the span's <c>url.path</c> and name. Each string tag, the display name and
/// the status description are checked, and replaced only when they hold a secret. An event cannot be changed once it is
/// on a span, so an exception event (<see cref="Activity.AddException"/>: a failed step attempt's, with the step's
/// message) is masked while it is added, through an <see cref="ActivityListener.ExceptionRecorder"/> this processor
/// registers for its lifetime: before, a step's exception quoting a secret was exported as thrown while its log line said <c>***</c>.
/// Any other event (<see cref="Activity.AddEvent"/>: a workflow's own, an instrumentation's) that holds a secret in its name or
/// a tag is replaced when the span ends by a copy with the secrets masked.
/// </summary>
internal sealed class SecretRedactingProcessor : BaseProcessor<Activity>
{
    private const string MessageTag = "exception.message";
    private const string StackTraceTag = "exception.stacktrace";

    private readonly SecretRedactor _redactor;
    private readonly ActivityListener _exceptions;

    public SecretRedactingProcessor(SecretRedactor redactor)
    {
        _redactor = redactor;
        // No Sample callback: this listener never decides whether a span is created, it only sees AddException on the
        // spans other listeners (the tracer provider) create.
        _exceptions = new ActivityListener { ShouldListenTo = _ => true, ExceptionRecorder = RecordException };
        ActivitySource.AddActivityListener(_exceptions);
    }

    public override void OnEnd(Activity data)
    {
        if (_redactor.Contains(data.DisplayName))
        {
            data.DisplayName = _redactor.Redact(data.DisplayName);
        }

        if (_redactor.Contains(data.StatusDescription))
        {
            data.SetStatus(data.Status, _redactor.Redact(data.StatusDescription!));
        }

        List<KeyValuePair<string, string>>? masked = null;
        foreach (var (key, value) in data.TagObjects)
        {
            if (value is string text && _redactor.Contains(text))
            {
                (masked ??= []).Add(new(key, _redactor.Redact(text)));
            }
        }

        foreach (var (key, value) in masked ?? [])
        {
            data.SetTag(key, value);
        }

        // An event cannot be changed through its own API (its tags are a copy of those it was given), but the span's
        // enumerator hands out each event by reference: one that holds a secret is replaced by its masked copy.
        foreach (ref var spanEvent in data.EnumerateEvents())
        {
            if (Masked(spanEvent) is { } replacement)
            {
                spanEvent = replacement;
            }
        }
    }

    /// <summary>A copy of <paramref name="spanEvent"/> (same time) with its secrets masked; null when it holds none.</summary>
    private ActivityEvent? Masked(in ActivityEvent spanEvent)
    {
        var secretInTags = false;
        foreach (var tag in spanEvent.EnumerateTagObjects())
        {
            secretInTags |= tag.Value is string text && _redactor.Contains(text);
        }

        if (!secretInTags && !_redactor.Contains(spanEvent.Name))
        {
            return null;
        }

        var tags = new ActivityTagsCollection();
        foreach (var (key, value) in spanEvent.EnumerateTagObjects())
        {
            tags[key] = value is string text ? _redactor.Redact(text) : value;
        }

        return new ActivityEvent(_redactor.Redact(spanEvent.Name), spanEvent.Timestamp, tags);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _exceptions.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>
    /// Called by <see cref="Activity.AddException"/> before it fills in the tags the caller left out: a string tag holding a
    /// secret is masked, and the exception's message and stack trace are given with their secrets masked, so the event is
    /// never built from the exception as thrown.
    /// </summary>
    private void RecordException(Activity activity, Exception exception, ref TagList tags)
    {
        bool hasMessage = false, hasStackTrace = false;
        for (var i = 0; i < tags.Count; i++)
        {
            var (key, value) = tags[i];
            hasMessage |= key == MessageTag;
            hasStackTrace |= key == StackTraceTag;
            if (value is string text && _redactor.Contains(text))
            {
                tags[i] = new(key, _redactor.Redact(text));
            }
        }

        // Given here whether or not they hold a secret (Redact returns a text without one as it is): AddException then
        // formats the exception no second time.
        if (!hasMessage)
        {
            tags.Add(MessageTag, _redactor.Redact(exception.Message));
        }

        if (!hasStackTrace)
        {
            tags.Add(StackTraceTag, _redactor.Redact(exception.ToString()));
        }
    }
}
