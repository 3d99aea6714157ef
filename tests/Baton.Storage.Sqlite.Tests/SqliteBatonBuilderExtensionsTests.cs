using Baton.Hosting;
using Baton.Storage.Sqlite.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Baton.Storage.Sqlite.Tests;

public sealed class SqliteBatonBuilderExtensionsTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    private static BatonBuilder NewBuilder(IServiceCollection services) => services.AddBaton();

    [Fact]
    public async Task UseSqlite_Configured_RegistersStoreAndAggregates()
    {
        var services = new ServiceCollection();
        var path = _database.NewPath();
        NewBuilder(services).UseSqlite(o =>
        {
            o.Path = path;
            o.Durability = SqliteDurability.FullSync;
        });
        await using var provider = services.BuildServiceProvider();

        var store = Assert.IsType<SqliteBatonStore>(provider.GetRequiredService<IBatonStore>());
        await store.InitializeAsync();

        Assert.Equal(path, store.FilePath);
        Assert.Same(store.Runs, provider.GetRequiredService<IRunStore>());
        Assert.Same(store.Steps, provider.GetRequiredService<IStepStore>());
        Assert.Same(store.Schedules, provider.GetRequiredService<IScheduleStore>());
        Assert.Equal(SqliteDurability.FullSync, provider.GetRequiredService<IOptions<SqliteStoreOptions>>().Value.Durability);
    }

    [Fact]
    public async Task UseSqlite_EmptyPath_FailsOptionsValidation()
    {
        var services = new ServiceCollection();
        NewBuilder(services).UseSqlite(o => o.Path = "");
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<SqliteStoreOptions>>().Value);

        Assert.Contains("Path", error.Message);
    }
}
