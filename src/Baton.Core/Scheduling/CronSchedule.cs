using NCrontab;

namespace Baton.Scheduling;

/// <summary>
/// A cron expression in a time zone. Five fields (minute hour day month weekday) or six (a leading
/// seconds field). Fire times are computed in the zone's local time: a local time skipped by a
/// daylight-saving jump does not fire; a repeated local hour fires once, at its first occurrence.
/// </summary>
public sealed class CronSchedule
{
    private readonly CrontabSchedule _schedule;

    private CronSchedule(string expression, CrontabSchedule schedule, TimeZoneInfo timeZone)
    {
        Expression = expression;
        _schedule = schedule;
        TimeZone = timeZone;
    }

    public string Expression { get; }

    public TimeZoneInfo TimeZone { get; }

    /// <summary>Parses <paramref name="expression"/> in <paramref name="timeZoneId"/>; false with a reason when either is invalid.</summary>
    public static bool TryParse(string? expression, string? timeZoneId, out CronSchedule? schedule, out string? error)
    {
        schedule = null;
        if (string.IsNullOrWhiteSpace(expression))
        {
            error = "cron expression is required";
            return false;
        }

        var fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields is not (5 or 6))
        {
            error = $"cron expression '{expression}' has {fields} fields; expected 5 (minute hour day month weekday) or 6 (with leading seconds)";
            return false;
        }

        var parsed = CrontabSchedule.TryParse(expression, new CrontabSchedule.ParseOptions { IncludingSeconds = fields == 6 });
        if (parsed is null)
        {
            error = $"cron expression '{expression}' is not valid";
            return false;
        }

        TimeZoneInfo zone;
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(string.IsNullOrWhiteSpace(timeZoneId) ? "UTC" : timeZoneId);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            error = $"time zone '{timeZoneId}' is not known";
            return false;
        }

        schedule = new CronSchedule(expression, parsed, zone);
        error = null;
        return true;
    }

    public static CronSchedule Parse(string expression, string timeZoneId = "UTC") =>
        TryParse(expression, timeZoneId, out var schedule, out var error) ? schedule! : throw new FormatException(error);

    /// <summary>The first fire time strictly after <paramref name="after"/>, in UTC.</summary>
    public DateTimeOffset Next(DateTimeOffset after)
    {
        var local = TimeZoneInfo.ConvertTime(after, TimeZone).DateTime;
        var candidate = local;
        while (true)
        {
            candidate = _schedule.GetNextOccurrence(candidate);
            if (TimeZone.IsInvalidTime(candidate))
            {
                continue;
            }

            var offset = TimeZone.IsAmbiguousTime(candidate)
                ? TimeZone.GetAmbiguousTimeOffsets(candidate).Max()
                : TimeZone.GetUtcOffset(candidate);
            var fire = new DateTimeOffset(candidate, offset).ToUniversalTime();
            if (fire > after)
            {
                return fire;
            }
        }
    }

    /// <summary>Every fire time in (<paramref name="after"/>, <paramref name="until"/>], at most <paramref name="max"/>.</summary>
    public IEnumerable<DateTimeOffset> Between(DateTimeOffset after, DateTimeOffset until, int max = 10_000)
    {
        var fire = after;
        for (var i = 0; i < max; i++)
        {
            fire = Next(fire);
            if (fire > until)
            {
                yield break;
            }

            yield return fire;
        }
    }
}
