using Baton.Scheduling;

namespace Baton.Core.Tests.Scheduling;

public sealed class CronScheduleTests
{
    private static DateTimeOffset Utc(int y, int mo, int d, int h, int mi, int s = 0) => new(y, mo, d, h, mi, s, TimeSpan.Zero);

    [Fact]
    public void Next_FiveFields_DailyAtTwo()
    {
        var cron = CronSchedule.Parse("0 2 * * *");
        Assert.Equal(Utc(2026, 3, 1, 2, 0), cron.Next(Utc(2026, 3, 1, 1, 59)));
        Assert.Equal(Utc(2026, 3, 2, 2, 0), cron.Next(Utc(2026, 3, 1, 2, 0)));
    }

    [Fact]
    public void Next_SixFields_EverySecond()
    {
        var cron = CronSchedule.Parse("* * * * * *");
        Assert.Equal(Utc(2026, 3, 1, 1, 0, 1), cron.Next(Utc(2026, 3, 1, 1, 0, 0)));
    }

    [Fact]
    public void Next_TimeZone_FiresAtLocalTime()
    {
        var cron = CronSchedule.Parse("0 2 * * *", "Europe/Berlin");
        // 02:00 in Berlin in January is 01:00 UTC.
        Assert.Equal(Utc(2026, 1, 10, 1, 0), cron.Next(Utc(2026, 1, 10, 0, 0)));
    }

    [Fact]
    public void Next_SpringForwardGap_FiresOnceAtTheShift()
    {
        // 2026-03-29: Berlin jumps from 02:00 to 03:00; 02:30 local does not exist that day and fires at 03:00 CEST.
        var cron = CronSchedule.Parse("30 2 * * *", "Europe/Berlin");
        var shifted = cron.Next(Utc(2026, 3, 28, 12, 0));
        Assert.Equal(Utc(2026, 3, 29, 1, 0), shifted);
        Assert.Equal(Utc(2026, 3, 30, 0, 30), cron.Next(shifted));
    }

    [Fact]
    public void Next_FallBackRepeatedHour_FiresOnce()
    {
        // 2026-10-25: Berlin repeats 02:00-03:00; 02:30 local happens twice but fires once.
        var cron = CronSchedule.Parse("30 2 * * *", "Europe/Berlin");
        var first = cron.Next(Utc(2026, 10, 24, 12, 0));
        Assert.Equal(Utc(2026, 10, 25, 0, 30), first);
        Assert.Equal(Utc(2026, 10, 26, 1, 30), cron.Next(first));
    }

    [Fact]
    public void Between_ReturnsEveryFireInRange()
    {
        var cron = CronSchedule.Parse("*/15 * * * *");
        var fires = cron.Between(Utc(2026, 1, 1, 0, 0), Utc(2026, 1, 1, 1, 0)).ToList();
        Assert.Equal([Utc(2026, 1, 1, 0, 15), Utc(2026, 1, 1, 0, 30), Utc(2026, 1, 1, 0, 45), Utc(2026, 1, 1, 1, 0)], fires);
    }

    [Fact]
    public void Next_FallBackRepeatedHourIntervalExpression_FiresInBothOccurrences()
    {
        // 2026-10-25: Berlin repeats 02:00-03:00 local (00:00-01:00 UTC in CEST, 01:00-02:00 UTC in CET).
        var interval = CronSchedule.Parse("*/30 2 * * *", "Europe/Berlin");
        var list = CronSchedule.Parse("0,30 2 * * *", "Europe/Berlin");
        var intervalFires = interval.Between(Utc(2026, 10, 24, 12, 0), Utc(2026, 10, 25, 12, 0)).ToList();
        var listFires = list.Between(Utc(2026, 10, 24, 12, 0), Utc(2026, 10, 25, 12, 0)).ToList();
        Assert.Equal([Utc(2026, 10, 25, 0, 0), Utc(2026, 10, 25, 0, 30), Utc(2026, 10, 25, 1, 0), Utc(2026, 10, 25, 1, 30)], intervalFires);
        // A list of fixed times is not an interval: each fires once, in the first occurrence.
        Assert.Equal([Utc(2026, 10, 25, 0, 0), Utc(2026, 10, 25, 0, 30)], listFires);
    }

    [Theory]
    [InlineData("0 0 L * *", "2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z")]
    [InlineData("0 0 LW * *", "2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z")]
    [InlineData("0 0 15W * *", "2026-01-15T00:00:00Z", "2026-02-16T00:00:00Z")]
    [InlineData("0 0 * * 5#3", "2026-01-16T00:00:00Z", "2026-02-20T00:00:00Z")]
    [InlineData("0 0 * * 5L", "2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z")]
    [InlineData("0 12 ? * MON", "2026-01-05T12:00:00Z", "2026-01-12T12:00:00Z")]
    [InlineData("@daily", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z")]
    [InlineData("@every_second", "2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z")]
    public void Next_LastWeekdayNthAndMacros_FireOnTheDaysTheyName(string expression, string first, string second)
    {
        var cron = CronSchedule.Parse(expression);
        var fire = cron.Next(Utc(2026, 1, 1, 0, 0));
        Assert.Equal(DateTimeOffset.Parse(first, System.Globalization.CultureInfo.InvariantCulture), fire);
        Assert.Equal(DateTimeOffset.Parse(second, System.Globalization.CultureInfo.InvariantCulture), cron.Next(fire));
    }

    // Expressions the previous parser (NCrontab) accepted, as schedules stored before Cronos hold them.
    [Theory]
    [InlineData("0 2 * * *")]
    [InlineData("*/15 * * * *")]
    [InlineData("*/10 * * * * *")]
    [InlineData(" 0  2 * * * ")]
    [InlineData("0 2 * * *\n")]
    [InlineData("0 0 * * SUN")]
    [InlineData("0 0 1 JAN *")]
    [InlineData("0 0 * * MON-FRI")]
    [InlineData("0-59/5 * * * *")]
    [InlineData("5/10 * * * *")]
    [InlineData("0 0 1,15 * *")]
    [InlineData("0 0 * 1-12/3 *")]
    [InlineData("0 0 * * */2")]
    [InlineData("0 0 29 2 *")]
    public void TryParse_ExpressionAcceptedBeforeCronos_StillAccepted(string expression)
    {
        Assert.True(CronSchedule.TryParse(expression, "Europe/Brussels", out var schedule, out var error), error);
        Assert.Equal(expression, schedule!.Expression);
    }

    [Theory]
    [InlineData("", "UTC", "required")]
    [InlineData("* * *", "UTC", "3 fields")]
    [InlineData("61 * * * *", "UTC", "Minutes: Value must be a number between 0 and 59")]
    [InlineData("0 0 32 * *", "UTC", "not valid")]
    [InlineData("0 0 * * 5#6", "UTC", "not valid")]
    [InlineData("@fortnightly", "UTC", "not valid")]
    [InlineData("0 0 30 2 *", "UTC", "never fires")]
    [InlineData("0 2 * * *", "Mars/Olympus", "time zone")]
    // Cronos' hashed H needs a seed Baton does not give (before: an unhandled MissingSeedException, a 500 on PUT).
    [InlineData("H * * * *", "UTC", "'H' (a hashed value) is not supported")]
    [InlineData("H/5 * * * *", "UTC", "'H' (a hashed value) is not supported")]
    // A folder of the zone database is found by name but is no zone (before: a SecurityException, a 500 on PUT, exit 1 at start).
    [InlineData("0 2 * * *", "Europe", "time zone 'Europe' is not known")]
    [InlineData("0 2 * * *", "America/Argentina", "time zone 'America/Argentina' is not known")]
    [InlineData("0 2 * * *", "posix", "time zone 'posix' is not known")]
    [InlineData("0 2 * * *", "Europe/", "is not known")]
    // Cronos stops reading at a U+0000: the schedule showed weekdays and fired on Mondays only.
    [InlineData("0 2 * * 1\u0000-5", "UTC", "control character")]
    [InlineData("0 2 * * *\u0000,61", "UTC", "control character")]
    [InlineData("0 2 * *\t*", "UTC", "control character")]
    public void TryParse_Invalid_ExplainsWhy(string expression, string zone, string expected)
    {
        Assert.False(CronSchedule.TryParse(expression, zone, out var schedule, out var error));
        Assert.Null(schedule);
        Assert.Contains(expected, error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void TryParse_TimeZoneIdInOtherLetterCase_RefusedWhateverWasLookedUpBefore()
    {
        // On Linux the first lookup of "pacific/chatham" failed and a later one, after "Pacific/Chatham", succeeded.
        var before = CronSchedule.TryParse("0 2 * * *", "pacific/chatham", out _, out var firstError);
        Assert.True(CronSchedule.TryParse("0 2 * * *", "Pacific/Chatham", out _, out _));
        var after = CronSchedule.TryParse("0 2 * * *", "pacific/chatham", out _, out var error);

        Assert.Equal((false, false), (before, after));
        Assert.Contains("not known", firstError, StringComparison.Ordinal);
        Assert.Contains("did you mean 'Pacific/Chatham'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_TimeZoneIdInOtherLetterCaseNeverLookedUp_NamesTheZone()
    {
        // Before: in a process that had not yet looked the zone up in its own letter case (a new server answering
        // PUT /api/schedules with "europe/brussels"), the error was only "time zone '...' is not known", while the README
        // says it names the zone; the "did you mean" came only after a lookup of the right id. No other test looks up
        // this zone (the runtime's cache is per process).
        Assert.False(CronSchedule.TryParse("0 2 * * *", "pacific/kiritimati", out var schedule, out var error));

        Assert.Null(schedule);
        Assert.Contains("did you mean 'Pacific/Kiritimati'", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localtime")]
    [InlineData("posixrules")]
    public void TryParse_ZoneDatabaseFileThatIsNotAZone_Refused(string zone)
    {
        Assert.False(CronSchedule.TryParse("0 2 * * *", zone, out var schedule, out var error));
        Assert.Null(schedule);
        Assert.Contains("is not an IANA or Windows time zone id", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Latest_SpanOfManyFireTimes_TheLastOneBeforeTheEnd()
    {
        var everyMinute = CronSchedule.Parse("* * * * *");
        var yearly = CronSchedule.Parse("0 0 29 2 *");
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        Assert.Equal(start.AddDays(30).AddMinutes(-1), everyMinute.Latest(start, start.AddDays(30).AddSeconds(-1)));
        Assert.Equal(new DateTimeOffset(2032, 2, 29, 0, 0, 0, TimeSpan.Zero), yearly.Latest(start, start.AddYears(9)));
        Assert.Null(yearly.Latest(start, start.AddYears(1)));
    }
}
