using Baton.Hosting;
using Baton.Storage.Sqlite;

namespace Baton.Server.Configuration;

/// <summary>Wires the store chosen in configuration into the engine: the embedded SQLite store.</summary>
internal static class StoreRegistration
{
    /// <summary>
    /// Binds <c>Baton:Store:Sqlite</c> (MaxBatchSize, BusyTimeout) to <see cref="SqliteStoreOptions"/>; the
    /// path (resolved against the content root) and durability come from the checked <paramref name="options"/>.
    /// </summary>
    public static BatonBuilder UseConfiguredStore(BatonBuilder baton, BatonServerOptions options, IConfiguration configuration)
    {
        baton.Services.Configure<SqliteStoreOptions>(configuration.GetSection("Baton:Store:Sqlite"));
        return baton.UseSqlite(o =>
        {
            o.Path = options.SqlitePath;
            o.Durability = options.SqliteDurability;
        });
    }
}
