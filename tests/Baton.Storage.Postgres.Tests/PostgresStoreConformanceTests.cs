using Baton.Storage.Conformance;

namespace Baton.Storage.Postgres.Tests;

/// <summary>The store conformance suite on PostgreSQL: every store a test makes gets its own fresh schema.</summary>
public sealed class PostgresStoreConformanceTests : StoreConformanceTests
{
    private readonly PostgresTestDatabase _database = new();

    protected override async Task<IBatonStore> CreateStoreAsync() =>
        await _database.NewInitializedStoreAsync(_database.NewSchema());

    protected override async Task<IBatonStore> ReopenStoreAsync(IBatonStore closed) =>
        await _database.NewInitializedStoreAsync(((Internal.PostgresBatonStore)closed).Schema);

    protected override Task CleanupAsync() => _database.DisposeAsync().AsTask();
}
