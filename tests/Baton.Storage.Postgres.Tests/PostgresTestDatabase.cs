using Baton.Storage.Postgres.Internal;
using Baton.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Baton.Storage.Postgres.Tests;

/// <summary>
/// The test database: connection string from <c>BATON_POSTGRES</c> (scripts/test.sh sets it after starting
/// the server) or the local default. The database is created if missing. Each test works in its own
/// schema (<c>t_&lt;guid&gt;</c>), dropped afterwards. An unreachable server fails the tests; it never skips them.
/// </summary>
internal sealed class PostgresTestDatabase : IAsyncDisposable
{
    public const string DefaultConnectionString =
        "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres;Database=baton_test";

    private readonly List<string> _schemas = [];
    private readonly List<IAsyncDisposable> _owned = [];

    public static string ConnectionString { get; } =
        Environment.GetEnvironmentVariable("BATON_POSTGRES") is { Length: > 0 } fromEnv ? fromEnv : DefaultConnectionString;

    /// <summary>A fresh schema name, dropped by <see cref="DisposeAsync"/>.</summary>
    public string NewSchema()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        _schemas.Add(schema);
        return schema;
    }

    /// <summary>A new, uninitialized store ("node") on <paramref name="schema"/>, with its own connection pool.</summary>
    /// <remarks>The pool is kept small: tests run in parallel, and the server allows 100 connections in all.</remarks>
    public static PostgresBatonStore NewStore(string schema, int writerConnections = 1) =>
        new(
            new PostgresStoreOptions
            {
                ConnectionString = new NpgsqlConnectionStringBuilder(ConnectionString) { MaxPoolSize = 8 }.ConnectionString,
                Schema = schema,
                WriterConnections = writerConnections,
            },
            TimeProvider.System,
            NullLogger.Instance);

    public async Task<PostgresBatonStore> NewInitializedStoreAsync(string schema, int writerConnections = 1)
    {
        await EnsureDatabaseAsync();
        var store = NewStore(schema, writerConnections);
        await store.InitializeAsync();
        return store;
    }

    public static Task EnsureDatabaseAsync() => PostgresDatabases.EnsureAsync(ConnectionString);

    /// <summary><paramref name="store"/>, disposed by <see cref="DisposeAsync"/> before the schemas are dropped.</summary>
    public T Own<T>(T store)
        where T : IAsyncDisposable
    {
        _owned.Add(store);
        return store;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }

        if (_schemas.Count == 0)
        {
            return;
        }

        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        foreach (var schema in _schemas)
        {
            await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }
}
