using Baton.Apps.CatalogSync.Processing;
using Baton.Testing;
using Npgsql;

namespace Baton.Apps.CatalogSync.Tests.Infrastructure;

/// <summary>Where a test's catalog lives.</summary>
public enum ProductsTarget
{
    Sqlite,
    Postgres,
}

/// <summary>
/// One test's own catalog database: a SQLite file in the test's directory, or a fresh schema
/// (<c>c_&lt;guid&gt;</c>, dropped afterwards) in the PostgreSQL of <c>BATON_POSTGRES</c> (scripts/test.sh
/// sets it; without it the local default, as in Baton.Storage.Postgres.Tests). An unreachable server fails
/// the test with a message saying so; it never skips it.
/// </summary>
internal sealed class CatalogTarget : IAsyncDisposable
{
    public const string DefaultConnectionString = "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres;Database=baton_test";


    private CatalogTarget(ProductsTarget kind, string sqlitePath, string schema)
    {
        Kind = kind;
        SqlitePath = sqlitePath;
        Schema = schema;
    }

    /// <summary>The connection string of the test server, with a small pool: tests run in parallel and the server allows 100 connections.</summary>
    public static string ConnectionString { get; } = new NpgsqlConnectionStringBuilder(
        Environment.GetEnvironmentVariable("BATON_POSTGRES") is { Length: > 0 } fromEnv ? fromEnv : DefaultConnectionString) { MaxPoolSize = 6 }.ConnectionString;

    public ProductsTarget Kind { get; }

    public string SqlitePath { get; }

    public string Schema { get; }

    public static async Task<CatalogTarget> CreateAsync(ProductsTarget kind, string directory)
    {
        if (kind == ProductsTarget.Postgres)
        {
            await EnsureDatabaseAsync();
        }

        return new CatalogTarget(kind, Path.Combine(directory, "catalog.db"), "c_" + Guid.NewGuid().ToString("N"));
    }

    /// <summary>The server settings that put the catalog here.</summary>
    public Dictionary<string, string> Settings() => Kind == ProductsTarget.Postgres
        ? new()
        {
            ["Baton:Apps:CatalogSync:Products:Provider"] = "Postgres",
            ["Baton:Apps:CatalogSync:Products:ConnectionString"] = ConnectionString,
            ["Baton:Apps:CatalogSync:Products:Schema"] = Schema,
        }
        : new()
        {
            ["Baton:Apps:CatalogSync:Products:Provider"] = "Sqlite",
            ["Baton:Apps:CatalogSync:DatabasePath"] = SqlitePath,
        };

    /// <summary>A store on this catalog, as the app builds it.</summary>
    public IProductStore NewStore() => Kind == ProductsTarget.Postgres
        ? new PostgresProductStore(ConnectionString, Schema)
        : new SqliteProductStore(SqlitePath);

    public List<ProductRow> Products() => Kind == ProductsTarget.Postgres ? CatalogDb.PostgresProducts(ConnectionString, Schema) : CatalogDb.Products(SqlitePath);

    public List<DeadLetterRow> DeadLetters(string? runId = null) =>
        Kind == ProductsTarget.Postgres ? CatalogDb.PostgresDeadLetters(ConnectionString, Schema, runId) : CatalogDb.DeadLetters(SqlitePath, runId);

    /// <summary>
    /// PostgreSQL: how many rows <c>SELECT raw::jsonb FROM products</c> reads (it fails the whole query, with PostgreSQL's
    /// error, when one row's raw cannot be jsonb). SQLite: the number of rows, as there is no jsonb there.
    /// </summary>
    public async Task<long> CountRawAsJsonbAsync()
    {
        if (Kind != ProductsTarget.Postgres)
        {
            return Products().Count;
        }

        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM (SELECT raw::jsonb FROM \"{Schema}\".products) AS r WHERE r.raw IS NOT NULL", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// A trigger in the catalog database that makes every insert of product <paramref name="id"/> fail, as a database that
    /// refuses one row would: the chunk holding it fails on every attempt. The catalog's tables must exist (the server started).
    /// </summary>
    public async Task RefuseProductAsync(string id)
    {
        if (Kind == ProductsTarget.Postgres)
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"""
                CREATE FUNCTION {Schema}.refuse_product() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF NEW.id = '{id}' THEN RAISE EXCEPTION 'refused by the test''s trigger'; END IF; RETURN NEW; END $$;
                CREATE TRIGGER refuse_product BEFORE INSERT ON {Schema}.products FOR EACH ROW EXECUTE FUNCTION {Schema}.refuse_product();
                """;
            await command.ExecuteNonQueryAsync();
            return;
        }

        await using var sqlite = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={SqlitePath}");
        await sqlite.OpenAsync();
        await using var create = sqlite.CreateCommand();
        create.CommandText = $"CREATE TRIGGER refuse_product BEFORE INSERT ON products WHEN NEW.id = '{id}' BEGIN SELECT RAISE(ABORT, 'refused by the test''s trigger'); END;";
        await create.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// PostgreSQL only: holds a lock on the products table that lets reads through and makes every write wait until the
    /// returned connection is disposed (its transaction rolled back), as a catalog busy with something else would.
    /// </summary>
    public async Task<NpgsqlConnection> HoldWritesAsync()
    {
        Assert.Equal(ProductsTarget.Postgres, Kind);
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"BEGIN; LOCK TABLE \"{Schema}\".products IN EXCLUSIVE MODE", connection);
        await command.ExecuteNonQueryAsync();
        return connection;
    }

    private static Task EnsureDatabaseAsync() => PostgresDatabases.EnsureAsync(ConnectionString);

    public async ValueTask DisposeAsync()
    {
        if (Kind != ProductsTarget.Postgres)
        {
            return;
        }

        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{Schema}\" CASCADE", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
