using System.Diagnostics;
using OpenTelemetry;

namespace Baton.Server.Logging;

/// <summary>
/// Masks configured secrets in a span before it is exported, as the log lines are masked: a key sent in a URL path
/// (<c>/api/runs/{key}</c>) was exported as the span's <c>url.path</c> and name. Each string tag and the display name
/// are checked, and replaced only when they hold a secret.
/// </summary>
internal sealed class SecretRedactingProcessor(SecretRedactor redactor) : BaseProcessor<Activity>
{
    public override void OnEnd(Activity data)
    {
        if (redactor.Contains(data.DisplayName))
        {
            data.DisplayName = redactor.Redact(data.DisplayName);
        }

        List<KeyValuePair<string, string>>? masked = null;
        foreach (var (key, value) in data.TagObjects)
        {
            if (value is string text && redactor.Contains(text))
            {
                (masked ??= []).Add(new(key, redactor.Redact(text)));
            }
        }

        foreach (var (key, value) in masked ?? [])
        {
            data.SetTag(key, value);
        }
    }
}
