using Baton.Storage.Conformance;
using Baton.Storage.Sqlite.Internal;
using Microsoft.Extensions.Logging.Abstractions;

namespace Baton.Storage.Sqlite.Tests;

public sealed class SqliteStoreConformanceTests : StoreConformanceTests
{
    private readonly TempDatabase _database = new();

    protected override async Task<IBatonStore> CreateStoreAsync()
    {
        var store = new SqliteBatonStore(
            new SqliteStoreOptions { Path = _database.NewPath() }, NullLogger<SqliteBatonStore>.Instance);
        await store.InitializeAsync();
        return store;
    }

    protected override Task<long> ReadStoredIntegerAsync(IBatonStore store, string table, string column, string keyColumn, string key) =>
        ((SqliteBatonStore)store).ReadAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {column} FROM {table} WHERE {keyColumn} = $key LIMIT 1";
            command.Parameters.AddWithValue("$key", key);
            return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }, CancellationToken.None);

    protected override async Task<IBatonStore> ReopenStoreAsync(IBatonStore closed)
    {
        var store = new SqliteBatonStore(
            new SqliteStoreOptions { Path = ((SqliteBatonStore)closed).FilePath }, NullLogger<SqliteBatonStore>.Instance);
        await store.InitializeAsync();
        return store;
    }

    protected override Task CleanupAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }
}
