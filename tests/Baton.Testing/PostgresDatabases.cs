using Npgsql;

namespace Baton.Testing;

/// <summary>Test databases on the real PostgreSQL the test script starts.</summary>
public static class PostgresDatabases
{
    private static readonly SemaphoreSlim Lock = new(1, 1);
    private static readonly HashSet<string> Ready = new(StringComparer.Ordinal);

    /// <summary>
    /// Creates the connection string's database if it does not exist yet (through the <c>postgres</c>
    /// database), once per process. An unreachable server fails with a message that says how to start one;
    /// two test processes racing to create the database both succeed.
    /// </summary>
    public static async Task EnsureAsync(string connectionString)
    {
        var target = new NpgsqlConnectionStringBuilder(connectionString);
        var database = target.Database!;
        await Lock.WaitAsync();
        try
        {
            if (Ready.Contains(database))
            {
                return;
            }

            var admin = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false };
            await using var connection = new NpgsqlConnection(admin.ConnectionString);
            try
            {
                await connection.OpenAsync();
            }
            catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
            {
                var source = Environment.GetEnvironmentVariable("BATON_POSTGRES") is { Length: > 0 } ? "BATON_POSTGRES" : "the default (BATON_POSTGRES is not set)";
                throw new InvalidOperationException(
                    $"These tests need PostgreSQL: {target.Host}:{target.Port} from {source} is not reachable ({ex.Message}). " +
                    "Run them through scripts/test.sh, or start PostgreSQL (pg_ctlcluster 15 main start) and set BATON_POSTGRES.",
                    ex);
            }

            await CreateIfMissingAsync(connection, database);
            Ready.Add(database);
        }
        finally
        {
            Lock.Release();
        }
    }

    private static async Task CreateIfMissingAsync(NpgsqlConnection admin, string database)
    {
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", admin);
        exists.Parameters.AddWithValue("name", database);
        if (await exists.ExecuteScalarAsync() is not null)
        {
            return;
        }

        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", admin);
        try
        {
            await create.ExecuteNonQueryAsync();
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DuplicateDatabase)
        {
            // Another test process created it first.
        }
    }
}
