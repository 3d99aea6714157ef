using Npgsql;

namespace Baton.Testing;

/// <summary>Which store a <see cref="KeyedServer"/> runs on.</summary>
public enum TestStore
{
    Sqlite,
    Postgres,
}

/// <summary>
/// The real server process with an admin key and the demo workflow, on a fresh SQLite file or on a fresh schema
/// (<c>t_&lt;guid&gt;</c>, dropped on dispose) in the PostgreSQL of <c>BATON_POSTGRES</c> (the local default when unset;
/// an unreachable server fails with a message saying how to start one).
/// </summary>
public sealed class KeyedServer : IAsyncDisposable
{
    /// <summary>The local PostgreSQL scripts/test.sh starts.</summary>
    public const string DefaultPostgres = "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres;Database=baton_tests";

    private readonly string? _postgres;
    private readonly string? _schema;

    private KeyedServer(ServerProcess process, string key, string? postgres, string? schema)
    {
        Process = process;
        Key = key;
        _postgres = postgres;
        _schema = schema;
    }

    public ServerProcess Process { get; }

    /// <summary>The admin key the server was started with (random per server).</summary>
    public string Key { get; }

    public Uri BaseAddress => Process.BaseAddress;

    /// <summary>Starts the server and waits until it is live; <paramref name="extra"/> adds or overrides variables.</summary>
    public static async Task<KeyedServer> StartAsync(TestStore store, IDictionary<string, string?>? extra = null)
    {
        var key = "test-key-" + Guid.NewGuid().ToString("N");
        var environment = new Dictionary<string, string?> { ["ADMIN_KEY"] = key };
        string? postgres = null, schema = null;
        if (store == TestStore.Postgres)
        {
            postgres = Environment.GetEnvironmentVariable("BATON_POSTGRES") is { Length: > 0 } fromEnv ? fromEnv : DefaultPostgres;
            await PostgresDatabases.EnsureAsync(postgres);
            schema = "t_" + Guid.NewGuid().ToString("N")[..16];
            environment["BATON_STORE"] = "postgres";
            environment["BATON_POSTGRES"] = postgres;
            environment["Baton__Store__Postgres__Schema"] = schema;
        }
        else
        {
            environment["Baton__Store__Sqlite__Path"] = Path.Combine(TestPaths.NewTempDirectory(), "baton.db");
        }

        foreach (var (name, value) in extra ?? new Dictionary<string, string?>())
        {
            environment[name] = value;
        }

        var process = ServerProcess.Start(environment);
        try
        {
            await process.WaitForLiveAsync(TimeSpan.FromSeconds(60));
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }

        return new KeyedServer(process, key, postgres, schema);
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        if (_postgres is not null && _schema is not null)
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_postgres) { Pooling = false }.ConnectionString);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{_schema}\" CASCADE", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }
}
