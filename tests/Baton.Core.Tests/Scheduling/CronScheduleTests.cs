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
    public void Next_SpringForwardGap_SkipsMissingLocalTime()
    {
        // 2026-03-29: Berlin jumps from 02:00 to 03:00; 02:30 local does not exist that day.
        var cron = CronSchedule.Parse("30 2 * * *", "Europe/Berlin");
        var next = cron.Next(Utc(2026, 3, 28, 12, 0));
        Assert.Equal(Utc(2026, 3, 30, 0, 30), next);
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

    [Theory]
    [InlineData("", "UTC", "required")]
    [InlineData("* * *", "UTC", "3 fields")]
    [InlineData("61 * * * *", "UTC", "not valid")]
    [InlineData("0 2 * * *", "Mars/Olympus", "time zone")]
    public void TryParse_Invalid_ExplainsWhy(string expression, string zone, string expected)
    {
        Assert.False(CronSchedule.TryParse(expression, zone, out var schedule, out var error));
        Assert.Null(schedule);
        Assert.Contains(expected, error, StringComparison.OrdinalIgnoreCase);
    }
}
