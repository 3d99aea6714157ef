using Cronos;

namespace Baton.Scheduling;

/// <summary>
/// A cron expression in a time zone, read by Cronos. Five fields (minute hour day month weekday), six (a leading
/// seconds field) or a macro (<c>@hourly</c>, <c>@daily</c>, <c>@weekly</c>, <c>@monthly</c>, <c>@yearly</c>,
/// <c>@every_minute</c>, <c>@every_second</c>); <c>L</c>, <c>W</c>, <c>#</c> and <c>?</c> are accepted.
/// Fire times are computed in the zone's local time, with daylight saving as Hangfire users know it: a fire time in
/// a local hour skipped by a jump forward fires once, at the jump; in a local hour that is repeated, an interval
/// expression (a <c>*</c> or a step <c>/</c> in the second, minute or hour field) fires in both occurrences, any other
/// (fixed values or lists) once, at the first occurrence.
/// </summary>
public sealed class CronSchedule
{
    private readonly CronExpression _cron;

    private CronSchedule(string expression, CronExpression cron, TimeZoneInfo timeZone)
    {
        Expression = expression;
        _cron = cron;
        TimeZone = timeZone;
    }

    /// <summary>The expression as it was written.</summary>
    public string Expression { get; }

    /// <summary>The zone fire times are computed in. The default is UTC.</summary>
    public TimeZoneInfo TimeZone { get; }

    /// <summary>
    /// Parses <paramref name="expression"/> in <paramref name="timeZoneId"/> (IANA or Windows id; UTC when empty);
    /// false with a reason when either is invalid or the expression never fires (e.g. <c>0 0 30 2 *</c>).
    /// </summary>
    public static bool TryParse(string? expression, string? timeZoneId, out CronSchedule? schedule, out string? error)
    {
        schedule = null;
        if (string.IsNullOrWhiteSpace(expression))
        {
            error = "cron expression is required";
            return false;
        }

        var trimmed = expression.Trim();
        // Cronos reads an expression only up to a U+0000 ("0 2 * * 1\u0000-5" fired on Mondays while it showed weekdays).
        // Around the expression (a line break after it in a file) white space is trimmed as before.
        if (trimmed.AsSpan().ContainsAnyInRange('\u0000', '\u001f'))
        {
            error = $"cron expression '{expression}' contains a control character; write fields separated by spaces";
            return false;
        }

        var fields = trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        var macro = trimmed.StartsWith('@');
        if (!macro && fields is not (5 or 6))
        {
            error = $"cron expression '{expression}' has {fields} fields; expected 5 (minute hour day month weekday) or 6 (with leading seconds)";
            return false;
        }

        CronExpression cron;
        try
        {
            // A macro is read with seconds so that @every_second is accepted; the others fire at second 0 either way.
            cron = CronExpression.Parse(trimmed, macro || fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException ex)
        {
            error = $"cron expression '{expression}' is not valid: {ex.Message}";
            return false;
        }
        catch (Exception ex) when (ex.GetType().Name == "MissingSeedException")
        {
            // Cronos' H (a hashed value) needs a seed per schedule, which Baton does not give: refused like any bad field
            // (before: a 500 on PUT and exit code 1 at start). Matched by name: the type is not public in every Cronos version.
            error = $"cron expression '{expression}' is not valid: 'H' (a hashed value) is not supported; write the value itself";
            return false;
        }

        TimeZoneInfo zone;
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(string.IsNullOrWhiteSpace(timeZoneId) ? "UTC" : timeZoneId);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException
            // A folder of the zone database ("Europe", "America/Argentina", "posix") is found but cannot be read as a file.
            or System.Security.SecurityException or UnauthorizedAccessException or IOException)
        {
            // On Linux an id in other letter case is not found until the right id has been looked up once (the runtime's
            // cache): the zone list names it from the start, so the answer does not depend on what was looked up before.
            error = ZoneInOtherCase(timeZoneId) is { } id
                ? $"time zone '{timeZoneId}' is not known: zone ids are case-sensitive; did you mean '{id}'?"
                : $"time zone '{timeZoneId}' is not known";
            return false;
        }

        var asked = string.IsNullOrWhiteSpace(timeZoneId) ? "UTC" : timeZoneId;
        if (asked is "localtime" or "posixrules")
        {
            // Files of the zone database, not zones: "localtime" is each machine's own zone, so nodes would disagree.
            error = $"time zone '{timeZoneId}' is not an IANA or Windows time zone id (it names each machine's own setting); write the zone, e.g. Europe/Berlin";
            return false;
        }

        if (!string.Equals(zone.Id, asked, StringComparison.Ordinal) && string.Equals(zone.Id, asked, StringComparison.OrdinalIgnoreCase)
            && !string.Equals(asked, "UTC", StringComparison.OrdinalIgnoreCase))
        {
            // On Linux the first lookup of an id in other letter case fails (the zone files' names), and a later one succeeds
            // from the runtime's cache: refused every time instead, so every node answers the same.
            error = $"time zone '{timeZoneId}' is not known: zone ids are case-sensitive; did you mean '{zone.Id}'?";
            return false;
        }

        // Any date an expression can match recurs within 28 years, so one that has no fire time after 1970 never fires.
        if (cron.GetNextOccurrence(DateTimeOffset.UnixEpoch, zone) is null)
        {
            error = $"cron expression '{expression}' never fires (no date matches it)";
            return false;
        }

        schedule = new CronSchedule(expression, cron, zone);
        error = null;
        return true;
    }

    /// <summary>The system zone whose id is <paramref name="timeZoneId"/> in other letter case, if any (read on a refusal only).</summary>
    private static string? ZoneInOtherCase(string? timeZoneId)
    {
        if (string.IsNullOrWhiteSpace(timeZoneId))
        {
            return null;
        }

        try
        {
            return TimeZoneInfo.GetSystemTimeZones().FirstOrDefault(z => string.Equals(z.Id, timeZoneId, StringComparison.OrdinalIgnoreCase))?.Id;
        }
        catch (Exception ex) when (ex is InvalidTimeZoneException or System.Security.SecurityException or UnauthorizedAccessException or IOException)
        {
            return null;
        }
    }

    /// <summary>Parses as <see cref="TryParse"/> does; throws <see cref="FormatException"/> with the reason.</summary>
    public static CronSchedule Parse(string expression, string timeZoneId = "UTC") =>
        TryParse(expression, timeZoneId, out var schedule, out var error) ? schedule! : throw new FormatException(error);

    /// <summary>
    /// The first fire time strictly after <paramref name="after"/>, in UTC. Throws <see cref="InvalidOperationException"/>
    /// when there is none before the end of year 9999.
    /// </summary>
    public DateTimeOffset Next(DateTimeOffset after) =>
        _cron.GetNextOccurrence(after, TimeZone)?.ToUniversalTime()
        ?? throw new InvalidOperationException($"cron expression '{Expression}' has no fire time after {after:O}");

    /// <summary>
    /// The latest fire time in (<paramref name="after"/>, <paramref name="until"/>], or null when there is none. Searched back
    /// from <paramref name="until"/> in windows that double from one minute, so a long span costs a few windows of fire times
    /// rather than every fire time in it (before, a run_once after more than 10,000 missed fire times carried the 10,000th).
    /// </summary>
    public DateTimeOffset? Latest(DateTimeOffset after, DateTimeOffset until)
    {
        for (var width = TimeSpan.FromMinutes(1); ; width *= 2)
        {
            var from = until - after <= width ? after : until - width;
            DateTimeOffset? latest = null;
            foreach (var fire in Between(from, until, int.MaxValue))
            {
                latest = fire;
            }

            if (latest is not null || from == after)
            {
                return latest;
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
