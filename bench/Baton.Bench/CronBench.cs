using System.Diagnostics;
using Baton.Scheduling;

namespace Baton.Bench;

/// <summary>
/// <c>--cron [N]</c>: the cost of <see cref="CronSchedule.Next"/>, which the scheduler calls once per fire (and per
/// missed fire with run_once): CPU and bytes allocated per call, single-threaded, for a few typical expressions.
/// CPU per call and allocations hold on a busy machine; wall time does not.
/// </summary>
internal static class CronBench
{
    private static readonly (string Cron, string Zone)[] Expressions =
    [
        ("0 2 * * *", "Europe/Brussels"),
        ("*/15 * * * *", "UTC"),
        ("*/10 * * * * *", "America/New_York"),
        ("0 9 * * MON-FRI", "Europe/Brussels"),
    ];

    public static void Run(string[] args)
    {
        var index = Array.IndexOf(args, "--cron");
        var calls = index + 1 < args.Length && int.TryParse(args[index + 1], out var n) ? n : 200_000;
        Console.WriteLine($"# CronSchedule.Next — {calls:N0} calls per expression, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine("| expression | zone | CPU per call (µs) | bytes allocated per call |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (cron, zone) in Expressions)
        {
            var schedule = CronSchedule.Parse(cron, zone);
            Walk(schedule, calls / 10);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var bytes = GC.GetAllocatedBytesForCurrentThread();
            Walk(schedule, calls);
            var cpuMicros = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / calls;
            var allocated = (double)(GC.GetAllocatedBytesForCurrentThread() - bytes) / calls;
            Console.WriteLine($"| `{cron}` | {zone} | {cpuMicros:N2} | {allocated:N0} |");
        }
    }

    /// <summary>Follows the schedule from 2026-01-01 for <paramref name="calls"/> fire times (through both DST changes).</summary>
    private static void Walk(CronSchedule schedule, int calls)
    {
        var fire = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < calls; i++)
        {
            fire = schedule.Next(fire);
        }
    }
}
