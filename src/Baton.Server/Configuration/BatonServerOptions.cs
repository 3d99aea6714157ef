namespace Baton.Server.Configuration;

/// <summary>
/// The server's settings (section <c>Baton</c>), bound by <see cref="ServerSettingsReader"/> and checked at
/// start by <see cref="BatonServerOptionsValidator"/>. Engine settings live under <c>Baton:Engine</c> and bind
/// to <see cref="Hosting.BatonOptions"/>.
/// </summary>
public sealed class BatonServerOptions
{
    /// <summary>Values that did not convert while binding (each kept its default); reported by the validator.</summary>
    internal List<string> BindingErrors { get; } = [];

    /// <summary>The port of the main listener. From <c>BATON_PORT</c>, else <c>ORCHESTRATOR_PORT</c>, else <c>Baton:Port</c>. The default is 3003. 0 picks a free port.</summary>
    public int Port { get; set; } = 3003;

    /// <summary>The address the main listener binds. The default is 127.0.0.1 (local only).</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>Full listener URLs (<c>;</c>-separated); when set, <see cref="Host"/> and <see cref="Port"/> are ignored.</summary>
    public string? Urls { get; set; }

    /// <summary>Largest request body accepted, in bytes. The default is 1 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>How long an API request may take before it is answered 503 store-unavailable (<c>Baton:RequestTimeout</c>). The default is 10 seconds.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time added to the engine's DrainTimeout to form the host's shutdown timeout. The default is 15 seconds.</summary>
    public TimeSpan ShutdownMargin { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Which store holds runs: <c>sqlite</c> (the default, embedded) or <c>postgres</c> (for several nodes). From <c>BATON_STORE</c>, else <c>Baton:Store:Provider</c>.</summary>
    public StoreProvider Store { get; set; } = StoreProvider.Sqlite;

    /// <summary>With <see cref="StoreProvider.Postgres"/>: the connection string, from <c>BATON_POSTGRES</c>, else <c>Baton:Store:Postgres:ConnectionString</c>. A secret: never logged.</summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>With <see cref="StoreProvider.Postgres"/>: the schema, from <c>Baton:Store:Postgres:Schema</c>. The default is <c>baton</c>.</summary>
    public string PostgresSchema { get; set; } = "baton";

    /// <summary>
    /// With <see cref="StoreProvider.Postgres"/>: the writer connections of this node (<c>PostgresStoreOptions.WriterConnections</c>),
    /// from <c>Baton:Store:Postgres:WriterConnections</c>, 1 to 16. The default is 1.
    /// </summary>
    public int PostgresWriterConnections { get; set; } = 1;

    /// <summary>Absolute path of the SQLite database file (relative paths in config resolve against the content root); null with PostgreSQL.</summary>
    public string? SqlitePath { get; set; }

    /// <summary>What the logs say about the store: the SQLite path, or the PostgreSQL schema (never the connection string).</summary>
    public string StoreDescription => Store == StoreProvider.Postgres ? $"postgres (schema {PostgresSchema})" : $"sqlite {SqlitePath}";

    /// <summary><c>ProcessCrashSafe</c> (the default) or <c>FullSync</c>; see <see cref="Storage.Sqlite.SqliteDurability"/>.</summary>
    public Storage.Sqlite.SqliteDurability SqliteDurability { get; set; }

    /// <summary>
    /// The directory of the ASP.NET Core Data Protection key ring (absolute; a relative <c>Baton:DataProtection:KeysPath</c>
    /// resolves against the content root), or null for ASP.NET Core's default: a folder of the user running the server
    /// (<c>~/.aspnet/DataProtection-Keys</c>), whose keys serve only servers with the same content root. The ring encrypts
    /// the dashboard's sign-in cookie and the doctor app's stored password. Set it to one directory every node shares, so a
    /// cookie or a run's protected value made on one node is read on another; the server then names its application
    /// <c>Baton</c> rather than by its content root. The keys are kept there unencrypted: give the directory the
    /// permissions of a secret.
    /// </summary>
    public string? DataProtectionKeysPath { get; set; }

    /// <summary>Whether <c>GET /metrics</c> needs the admin key. The default is false (Prometheus convention).</summary>
    public bool MetricsRequireAdminKey { get; set; }

    /// <summary>Whether <c>/metrics</c> also carries ASP.NET Core's per-request detail meters (<c>BatonApiOptions.DetailedHttpMetrics</c>). The default is false.</summary>
    public bool MetricsDetailedHttp { get; set; }

    /// <summary>Whether the <c>demo</c> workflow (samples/Baton.Samples.Demo) is registered. The default is true in Development, false otherwise.</summary>
    public bool DemoEnabled { get; set; }

    /// <summary>Whether one demo run is started when the server is up, its progress logged each second. The default is false (true in appsettings.Development.json).</summary>
    public bool DemoRunOnStart { get; set; }

    /// <summary>Schedules from <c>Baton:Schedules</c>, created or replaced at start.</summary>
    public IReadOnlyList<ConfiguredSchedule> Schedules { get; set; } = [];

    /// <summary>Names of apps switched on with <c>Baton:Apps:&lt;Name&gt;:Enabled</c>.</summary>
    public IReadOnlySet<string> EnabledApps { get; set; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The URLs the main listener binds.</summary>
    public string ListenUrls => Urls ?? $"http://{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port}";
}

/// <summary>The stores the server can run on.</summary>
public enum StoreProvider
{
    Sqlite,
    Postgres,
}

/// <summary>A schedule written in configuration (<c>Baton:Schedules:&lt;name&gt;</c>).</summary>
/// <param name="Input">The input as JSON text, or null.</param>
public sealed record ConfiguredSchedule(string Name, string Workflow, string Cron, string TimeZone, string? Input, bool Enabled, Scheduling.MisfirePolicy Misfire);
