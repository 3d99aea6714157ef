using Baton.Server.Configuration;
using Microsoft.Extensions.Options;

namespace Baton.Apps.CatalogSync;

/// <summary>
/// Settings of the catalog sync, from <c>Baton:Apps:CatalogSync</c>; the seed's environment variables
/// <c>MEDIPIM_API_URL</c>, <c>MEDIPIM_API_KEY_ID</c> and <c>MEDIPIM_API_KEY_SECRET</c> override the
/// matching settings. Checked at start: a bad value stops the server with exit code 2.
/// </summary>
public sealed class CatalogSyncOptions
{
    /// <summary>The binder's message for each setting whose value does not convert (all of them, not only the first); reported at start.</summary>
    internal List<string> BindingErrors { get; } = [];

    /// <summary><c>InProcess</c> (the default): Baton fetches and upserts itself. <c>Remote</c>: Baton drives the seed's Fetcher and Maintainer services (see <see cref="Remote"/>).</summary>
    public CatalogSyncMode Mode { get; set; } = CatalogSyncMode.InProcess;

    /// <summary>Settings of remote mode.</summary>
    public Remote.RemoteOptions Remote { get; set; } = new();

    /// <summary>The feed URL (MediPim's <c>.../v4/products/stream</c>). Required unless <see cref="Demo"/> is on.</summary>
    public string? ApiUrl { get; set; }

    /// <summary>Basic auth user (MEDIPIM_API_KEY_ID). Never logged or returned.</summary>
    public string? ApiKeyId { get; set; }

    /// <summary>Basic auth password (MEDIPIM_API_KEY_SECRET). Never logged or returned.</summary>
    public string? ApiKeySecret { get; set; }

    /// <summary>Records (lines) per chunk. The default is 5,000 (the seed's).</summary>
    public int ChunkSize { get; set; } = 5_000;

    /// <summary>Chunks processed at once. The default is 2.</summary>
    public int Parallelism { get; set; } = 2;

    /// <summary>Directory of the feed files (the local blob store). Relative to the content root. The default is <c>data/catalog/feeds</c>.</summary>
    public string BlobDirectory { get; set; } = "data/catalog/feeds";

    /// <summary>The SQLite database holding <c>products</c> and <c>dead_letters</c>. Relative to the content root. The default is <c>data/catalog/catalog.db</c>.</summary>
    public string DatabasePath { get; set; } = "data/catalog/catalog.db";

    /// <summary>Where the <c>products</c> table lives: SQLite (<see cref="DatabasePath"/>) or PostgreSQL.</summary>
    public CatalogProductsOptions Products { get; set; } = new();

    /// <summary>Lines longer than this are set aside as dead letters without being parsed. The default is 1 MiB.</summary>
    public int MaxLineBytes { get; set; } = 1024 * 1024;

    /// <summary>Attempts of the fetch step (the first included). The default is 4 (the seed's 3 retries).</summary>
    public int FetchAttempts { get; set; } = 4;

    /// <summary>Delay before the first fetch retry, doubled each time. The default is 5 seconds (the seed's).</summary>
    public TimeSpan FetchRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time limit of one fetch attempt. The default is 30 minutes (the seed's request timeout).</summary>
    public TimeSpan FetchTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Attempts per chunk before it is dead-lettered. The default is 4 (3 retries).</summary>
    public int ChunkAttempts { get; set; } = 4;

    /// <summary>Delay before the first chunk retry, doubled each time. The default is 5 seconds.</summary>
    public TimeSpan ChunkRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time limit of one chunk attempt. The default is 10 minutes (the seed's).</summary>
    public TimeSpan ChunkTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Keep the feed file after a successful run. The default is false (it is deleted in the last step).</summary>
    public bool KeepFeedFiles { get; set; }

    /// <summary>A pause before each chunk, to make a sync watchable or killable mid-way in demos and crash tests. The default is none.</summary>
    public TimeSpan ChunkDelay { get; set; }

    /// <summary>The daily schedule.</summary>
    public CatalogScheduleOptions Schedule { get; set; } = new();

    /// <summary>
    /// The demo: an in-process simulated feed (used by the README's first command in Development). The app only
    /// reads these settings; the host that runs the demo (samples/Baton.Samples.Demo, wired in by Baton.Server) serves the feed.
    /// </summary>
    public CatalogDemoOptions Demo { get; set; } = new();
}

/// <summary>The catalog database (<c>products</c>, <c>dead_letters</c>, <c>chunk_results</c>).</summary>
public sealed class CatalogProductsOptions
{
    /// <summary>
    /// <c>Sqlite</c> or <c>Postgres</c>. The default follows Baton's own store: <c>Postgres</c> when
    /// <c>Baton:Store:Provider</c> (<c>BATON_STORE</c>) is postgres, so every node of a cluster writes one
    /// catalog, else <c>Sqlite</c>.
    /// </summary>
    public CatalogProductsProvider? Provider { get; set; }

    /// <summary>
    /// With <c>Postgres</c>: the Npgsql connection string. The default is Baton's store connection string
    /// (<c>BATON_POSTGRES</c>, else <c>Baton:Store:Postgres:ConnectionString</c>). A secret: never logged.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>With <c>Postgres</c>: the schema of the tables, created if missing. The default is <c>public</c>.</summary>
    public string Schema { get; set; } = "public";

    /// <summary>Fills <see cref="Provider"/> and <see cref="ConnectionString"/> from Baton's store settings when they are not set.</summary>
    internal void ApplyDefaults(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        var store = configuration["BATON_STORE"] is { Length: > 0 } fromEnv ? fromEnv : configuration["Baton:Store:Provider"];
        Provider ??= string.Equals(store?.Trim(), "postgres", StringComparison.OrdinalIgnoreCase) ? CatalogProductsProvider.Postgres : CatalogProductsProvider.Sqlite;
        if (Provider == CatalogProductsProvider.Postgres && string.IsNullOrWhiteSpace(ConnectionString))
        {
            ConnectionString = configuration["BATON_POSTGRES"] is { Length: > 0 } pg ? pg : configuration["Baton:Store:Postgres:ConnectionString"];
        }
    }
}

/// <summary>Where the catalog is stored.</summary>
public enum CatalogProductsProvider
{
    Sqlite,
    Postgres,
}

/// <summary>How a sync does its work.</summary>
public enum CatalogSyncMode
{
    InProcess,
    Remote,
}

/// <summary>The daily sync schedule, created (or replaced) in Baton's schedules when the app starts.</summary>
public sealed class CatalogScheduleOptions
{
    /// <summary>The default is true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The default is <c>0 2 * * *</c> (the seeds' 2 AM).</summary>
    public string Cron { get; set; } = "0 2 * * *";

    /// <summary>The default is UTC.</summary>
    public string TimeZone { get; set; } = "UTC";
}

/// <summary>The demo mode.</summary>
public sealed class CatalogDemoOptions
{
    /// <summary>The feed URL and credentials come from the host's simulated feed, so <c>ApiUrl</c> is not required; one sync starts at start. The default is false.</summary>
    public bool Enabled { get; set; }

    /// <summary>Products in the simulated catalog. The default is 20,000.</summary>
    public int Products { get; set; } = 20_000;
}

internal sealed class CatalogSyncOptionsValidator : IValidateOptions<CatalogSyncOptions>
{
    public ValidateOptionsResult Validate(string? name, CatalogSyncOptions options)
    {
        var errors = new List<string>(options.BindingErrors);
        if (options.Mode == CatalogSyncMode.Remote)
        {
            foreach (var (setting, url) in new[] { ("Remote:FetcherUrl", options.Remote.FetcherUrl), ("Remote:MaintainerUrl", options.Remote.MaintainerUrl) })
            {
                Check(Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https", $"{setting} must be an absolute http(s) URL");
            }

            Check(!string.IsNullOrEmpty(options.Remote.AdminKey), "Remote:AdminKey (or ADMIN_KEY) is required in remote mode");
            Check(options.Remote.ChunkSize is >= 1 and <= 1_000_000, "Remote:ChunkSize must be from 1 to 1000000");
            Check(options.Remote.Attempts is >= 1 and <= 100, "Remote:Attempts must be from 1 to 100");
            Check(options.Remote.FetchTimeout > TimeSpan.Zero && options.Remote.ChunkTimeout > TimeSpan.Zero && options.Remote.RetryDelay >= TimeSpan.Zero, "Remote timeouts must be positive and RetryDelay not negative");
        }
        else if (!options.Demo.Enabled)
        {
            if (string.IsNullOrWhiteSpace(options.ApiUrl))
            {
                errors.Add("Baton:Apps:CatalogSync:ApiUrl (or MEDIPIM_API_URL) is required");
            }
            else if (!Uri.TryCreate(options.ApiUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                errors.Add("Baton:Apps:CatalogSync:ApiUrl (or MEDIPIM_API_URL) must be an absolute http(s) URL");
            }
        }

        Check(options.ChunkSize is >= 1 and <= 1_000_000, "ChunkSize must be from 1 to 1000000");
        Check(options.Parallelism is >= 1 and <= 64, "Parallelism must be from 1 to 64");
        Check(options.MaxLineBytes is >= 1024 and <= 256 * 1024 * 1024, "MaxLineBytes must be from 1024 to 268435456");
        Check(options.FetchAttempts is >= 1 and <= 100, "FetchAttempts must be from 1 to 100");
        Check(options.ChunkAttempts is >= 1 and <= 100, "ChunkAttempts must be from 1 to 100");
        Check(options.FetchTimeout > TimeSpan.Zero && options.ChunkTimeout > TimeSpan.Zero, "FetchTimeout and ChunkTimeout must be positive");
        Check(options.FetchRetryDelay >= TimeSpan.Zero && options.ChunkRetryDelay >= TimeSpan.Zero && options.ChunkDelay >= TimeSpan.Zero, "delays must not be negative");
        if (options.Products.Provider == CatalogProductsProvider.Postgres)
        {
            if (string.IsNullOrWhiteSpace(options.Products.ConnectionString))
            {
                errors.Add("Products:ConnectionString is required with Products:Provider = Postgres (it defaults to BATON_POSTGRES or Baton:Store:Postgres:ConnectionString)");
            }
            else
            {
                try
                {
                    _ = new Npgsql.NpgsqlConnectionStringBuilder(options.Products.ConnectionString);
                }
                catch (ArgumentException ex)
                {
                    errors.Add($"Products:ConnectionString is not a valid Npgsql connection string: {Baton.Diagnostics.ConnectionStringText.ParseErrorWithoutPassword(options.Products.ConnectionString, ex.Message)}");
                }
            }

            Check(System.Text.RegularExpressions.Regex.IsMatch(options.Products.Schema ?? "", @"^[a-z_][a-z0-9_]{0,62}\z"), "Products:Schema must be lower-case letters, digits and underscores, starting with a letter or underscore");
        }

        Check(options.Demo.Products is >= 0 and <= 1_000_000, "Demo:Products must be from 0 to 1000000");
        if (options.Schedule.Enabled && !Baton.Scheduling.CronSchedule.TryParse(options.Schedule.Cron, options.Schedule.TimeZone, out _, out var cronError))
        {
            // Checked with the other settings, so a bad schedule is in the one start-up report, before any database is opened.
            errors.Add($"Schedule: {cronError}");
        }

        if (options.Mode == CatalogSyncMode.InProcess)
        {
            // Checked here so a wrong path stops the start with its name, not a sync later (blobs) or a raw SqliteException (database).
            if (options.Products.Provider != CatalogProductsProvider.Postgres && SettingPaths.Problem(options.DatabasePath, wantDirectory: false) is { } databaseProblem)
            {
                errors.Add($"DatabasePath '{options.DatabasePath}' {databaseProblem}; give the database file's path (e.g. data/catalog/catalog.db)");
            }

            if (SettingPaths.Problem(options.BlobDirectory, wantDirectory: true) is { } blobProblem)
            {
                errors.Add($"BlobDirectory '{options.BlobDirectory}' {blobProblem}; give a directory the feed files can be written to");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => e.StartsWith("Baton:", StringComparison.Ordinal) ? e : "Baton:Apps:CatalogSync:" + e));

        void Check(bool ok, string error)
        {
            if (!ok)
            {
                errors.Add(error);
            }
        }
    }
}
