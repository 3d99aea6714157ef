using Baton.Storage.Postgres.Internal;

namespace Baton.Storage.Postgres.Tests;

/// <summary>
/// Tests with several stores ("nodes") on one fresh schema of the test database: <see cref="NodeAsync"/> makes an
/// initialized store on it, and every store made so is disposed at the end (unless the test took it out of
/// <see cref="Stores"/> to dispose it itself).
/// </summary>
public abstract class NodesOnOneSchemaTests : IAsyncLifetime
{
    protected static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly PostgresTestDatabase _database = new();

    /// <summary>The schema every node of the test shares.</summary>
    protected string Schema { get; private set; } = "";

    private protected List<PostgresBatonStore> Stores { get; } = [];

    public async Task InitializeAsync()
    {
        await PostgresTestDatabase.EnsureDatabaseAsync();
        Schema = _database.NewSchema();
    }

    public async Task DisposeAsync()
    {
        foreach (var store in Stores)
        {
            await store.DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    private protected async Task<PostgresBatonStore> NodeAsync(int writerConnections = 1)
    {
        var store = await _database.NewInitializedStoreAsync(Schema, writerConnections);
        Stores.Add(store);
        return store;
    }
}
