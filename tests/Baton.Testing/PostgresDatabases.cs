using Npgsql;

namespace Baton.Testing;

/// <summary>Test databases on the real PostgreSQL the test script starts.</summary>
public static class PostgresDatabases
{
    /// <summary>
    /// Creates the connection string's database if it does not exist yet (through the <c>postgres</c>
    /// database). Two test processes racing to create it both succeed.
    /// </summary>
    public static async Task CreateIfMissingAsync(NpgsqlConnection admin, string database)
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
