namespace Baton.Storage.Postgres;

/// <summary>
/// Options of the PostgreSQL store (<c>UsePostgres</c>), the store for several Baton nodes sharing one
/// database. Every node must use the same <see cref="Schema"/>.
/// </summary>
public sealed class PostgresStoreOptions
{
    /// <summary>
    /// The Npgsql connection string, e.g. <c>Host=127.0.0.1;Port=5432;Username=baton;Password=...;Database=baton</c>.
    /// Pooling settings in it apply; without a <c>Maximum Pool Size</c> the store uses 20 connections per node
    /// (not Npgsql's 100, so that several nodes stay within PostgreSQL's default <c>max_connections</c> of 100).
    /// Required; there is no default.
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// The schema holding Baton's tables; created on start if missing. Lower-case letters, digits and
    /// underscores, starting with a letter or underscore, at most 50 characters. The default is <c>baton</c>.
    /// </summary>
    public string Schema { get; set; } = "baton";

    /// <summary>How long one statement may run before it fails. The default is 30 seconds.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How many connections the node keeps for the group commit of its hot writes (run creates without a concurrency key,
    /// run updates, lease renewals, attempt starts and ends), 1 to <see cref="MaxWriterConnections"/>. Each run's writes always use the same one, so they
    /// stay in order; with two or more, PostgreSQL executes two batches at once on two backends instead of one after the
    /// other. Each is one of the pool's connections: at most half of <c>Maximum Pool Size</c>. More than the database
    /// server's cores gains nothing; on a 2-core machine running both the node and PostgreSQL, 2 cost more CPU per run than 1
    /// (each connection's batches are smaller, so there are more commits). The default is 1.
    /// </summary>
    public int WriterConnections { get; set; } = 1;

    /// <summary>The most <see cref="WriterConnections"/> a node may keep: 16.</summary>
    public const int MaxWriterConnections = 16;
}
