using Microsoft.Data.Sqlite;

namespace Baton.CrashHost;

/// <summary>The side table: one row per step execution event, in its own SQLite file.</summary>
public sealed class EffectLog(string path)
{
    private readonly string _connectionString = new SqliteConnectionStringBuilder { DataSource = path, DefaultTimeout = 30 }.ToString();
    private int _starts;

    /// <summary>How many step starts this process lets run; later ones hold until cancelled. The default is no limit.</summary>
    public int HoldAfter { get; init; } = int.MaxValue;

    /// <summary>Counts a step start in this process; true when it is past <see cref="HoldAfter"/>.</summary>
    public bool StartPastHold() => Interlocked.Increment(ref _starts) > HoldAfter;

    public void EnsureCreated()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS effects (run_id TEXT, step TEXT, event TEXT, pid INTEGER)";
        command.ExecuteNonQuery();
    }

    public void Record(string runId, string step, string @event)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO effects (run_id, step, event, pid) VALUES ($run, $step, $event, $pid)";
        command.Parameters.AddWithValue("$run", runId);
        command.Parameters.AddWithValue("$step", step);
        command.Parameters.AddWithValue("$event", @event);
        command.Parameters.AddWithValue("$pid", Environment.ProcessId);
        command.ExecuteNonQuery();
    }

    /// <summary>How many times each step recorded <paramref name="event"/>.</summary>
    public Dictionary<string, int> Count(string @event)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT step, COUNT(*) FROM effects WHERE event = $event GROUP BY step";
        command.Parameters.AddWithValue("$event", @event);
        using var reader = command.ExecuteReader();
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        while (reader.Read())
        {
            counts[reader.GetString(0)] = reader.GetInt32(1);
        }

        return counts;
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }
}

internal static class Arguments
{
    public static Dictionary<string, string> Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i].TrimStart('-')] = args[i + 1];
        }

        foreach (var required in new[] { "db", "effects", "scenario", "node" })
        {
            if (!values.ContainsKey(required))
            {
                Console.Error.WriteLine($"missing --{required}");
                Environment.Exit(2);
            }
        }

        return values;
    }
}
