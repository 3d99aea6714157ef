using Baton.Storage.Conformance;
using Baton.Storage.Postgres.Internal;
using Npgsql;

namespace Baton.Storage.Postgres.Tests;

/// <summary>The store conformance suite on PostgreSQL: every store a test makes gets its own fresh schema.</summary>
public sealed class PostgresStoreConformanceTests : StoreConformanceTests
{
    private readonly PostgresTestDatabase _database = new();

    protected override async Task<IBatonStore> CreateStoreAsync() =>
        await _database.NewInitializedStoreAsync(_database.NewSchema());

    protected override async Task<long> ReadStoredIntegerAsync(IBatonStore store, string table, string column, string keyColumn, string key)
    {
        var postgres = (PostgresBatonStore)store;
        await using var connection = await postgres.OpenAsync(CancellationToken.None);
        await using var command = new NpgsqlCommand($"SELECT {column} FROM {PostgresMigrations.Quote(postgres.Schema)}.{table} WHERE {keyColumn} = @key LIMIT 1", connection);
        command.Parameters.AddWithValue("key", key);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    protected override async Task<IBatonStore> ReopenStoreAsync(IBatonStore closed) =>
        await _database.NewInitializedStoreAsync(((Internal.PostgresBatonStore)closed).Schema);

    protected override Task CleanupAsync() => _database.DisposeAsync().AsTask();
}
