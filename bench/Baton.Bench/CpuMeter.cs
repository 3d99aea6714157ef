using System.Diagnostics;
using System.Globalization;

namespace Baton.Bench;

/// <summary>
/// CPU time used by this process and, on Linux, by the PostgreSQL processes serving one database (their
/// process titles name it). CPU per run is steadier than runs/s on a shared machine: other work slows a run
/// down, but does not make it cost more CPU.
/// </summary>
internal sealed class CpuMeter
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux
    private readonly string? _database;
    private readonly TimeSpan _ownStart;
    private readonly Dictionary<int, double> _postgresStart;

    public CpuMeter(string? database)
    {
        _database = database;
        _ownStart = Process.GetCurrentProcess().TotalProcessorTime;
        _postgresStart = PostgresSeconds();
    }

    /// <summary>Seconds of CPU since the meter was made: this process, and the database's backends (NaN without one).</summary>
    public (double Own, double Postgres) Elapsed()
    {
        var own = (Process.GetCurrentProcess().TotalProcessorTime - _ownStart).TotalSeconds;
        if (_database is null)
        {
            return (own, double.NaN);
        }

        var postgres = 0.0;
        foreach (var (pid, seconds) in PostgresSeconds())
        {
            postgres += seconds - _postgresStart.GetValueOrDefault(pid);
        }

        return (own, postgres);
    }

    private Dictionary<int, double> PostgresSeconds()
    {
        var result = new Dictionary<int, double>();
        if (_database is null || !OperatingSystem.IsLinux())
        {
            return result;
        }

        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var title = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                // Backends of the database, plus the WAL writer and checkpointer every commit feeds.
                if (!title.StartsWith("postgres: ", StringComparison.Ordinal)
                    || !(title.Contains($" {_database} ", StringComparison.Ordinal) || title.Contains("walwriter", StringComparison.Ordinal) || title.Contains("checkpointer", StringComparison.Ordinal)))
                {
                    continue;
                }

                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                // utime and stime are fields 14 and 15 of /proc/pid/stat; fields[0] here is field 3.
                result[pid] = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return result;
    }
}
