using Baton.Hosting;
using Baton.Storage.Postgres;
using Baton.Storage.Sqlite;

namespace Baton.Server.Configuration;

/// <summary>Wires the store chosen in configuration into the engine: embedded SQLite, or PostgreSQL for several nodes.</summary>
internal static class StoreRegistration
{
    /// <summary>
    /// Binds <c>Baton:Store:Sqlite</c> (MaxBatchSize, BusyTimeout) to <see cref="SqliteStoreOptions"/>; the
    /// path (resolved against the content root) and durability come from the checked <paramref name="options"/>.
    /// </summary>
    public static BatonBuilder UseConfiguredStore(BatonBuilder baton, BatonServerOptions options, IConfiguration configuration)
    {
        if (options.Store == StoreProvider.Postgres)
        {
            return baton.UsePostgres(o =>
            {
                o.ConnectionString = options.PostgresConnectionString!;
                o.Schema = options.PostgresSchema;
                o.WriterConnections = options.PostgresWriterConnections;
            });
        }

        baton.Services.AddOptions<SqliteStoreOptions>().Configure(o => BatonServer.BindReported(configuration.GetSection("Baton:Store:Sqlite"), o));
        return baton.UseSqlite(o =>
        {
            o.Path = options.SqlitePath!;
            o.Durability = options.SqliteDurability;
        });
    }
}
