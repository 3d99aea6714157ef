using System.Globalization;
using System.Text;

namespace Baton.Apps.ReviewGateway.Health;

/// <summary>Go's <c>time.Duration.String()</c> of a duration rounded to whole seconds: <c>0s</c>, <c>45s</c>, <c>5m0s</c>, <c>2h15m30s</c>.</summary>
public static class GoDuration
{
    public static string Format(TimeSpan duration)
    {
        var seconds = (long)Math.Round(duration.TotalSeconds, MidpointRounding.AwayFromZero);
        var text = new StringBuilder();
        if (seconds < 0)
        {
            text.Append('-');
            seconds = -seconds;
        }

        var hours = seconds / 3600;
        var minutes = seconds / 60 % 60;
        var rest = seconds % 60;
        if (hours > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{hours}h");
        }

        if (hours > 0 || minutes > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{minutes}m");
        }

        text.Append(CultureInfo.InvariantCulture, $"{rest}s");
        return text.ToString();
    }
}
