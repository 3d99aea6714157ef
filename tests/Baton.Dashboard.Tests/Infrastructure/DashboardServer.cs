using System.Net;
using System.Text.RegularExpressions;
using Npgsql;

namespace Baton.Dashboard.Tests.Infrastructure;

/// <summary>Which store the server under test runs on.</summary>
public enum Store
{
    Sqlite,
    Postgres,
}

/// <summary>
/// The real server process (<see cref="ServerProcess"/>) with a known admin key, on SQLite in a temp directory or on
/// PostgreSQL in a schema of its own (dropped on dispose), with the demo workflow on.
/// </summary>
public sealed partial class DashboardServer : IAsyncDisposable
{
    public const string AdminKey = "dashboard-admin-key-3c9e71f04b2a5d86";

    private readonly ServerProcess _process;
    private readonly string _directory;
    private readonly string? _schema;

    private DashboardServer(ServerProcess process, string directory, string? schema)
    {
        _process = process;
        _directory = directory;
        _schema = schema;
    }

    public ServerProcess Process => _process;

    public Uri BaseAddress => _process.BaseAddress;

    public static string PostgresConnectionString =>
        Environment.GetEnvironmentVariable("BATON_POSTGRES") is { Length: > 0 } configured
            ? configured
            : "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres;Database=postgres";

    public static async Task<DashboardServer> StartAsync(Store store = Store.Sqlite, IDictionary<string, string?>? extra = null)
    {
        var directory = TestPaths.NewTempDirectory();
        var environment = new Dictionary<string, string?>
        {
            ["ADMIN_KEY"] = AdminKey,
            ["Baton__Store__Sqlite__Path"] = Path.Combine(directory, "baton.db"),
        };
        string? schema = null;
        if (store == Store.Postgres)
        {
            await PostgresDatabases.EnsureAsync(PostgresConnectionString);
            schema = $"ui_{Guid.NewGuid():N}"[..30];
            environment["BATON_STORE"] = "postgres";
            environment["BATON_POSTGRES"] = PostgresConnectionString;
            environment["Baton__Store__Postgres__Schema"] = schema;
        }

        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        var process = ServerProcess.Start(environment);
        var server = new DashboardServer(process, directory, schema);
        try
        {
            await process.WaitForLiveAsync(TimeSpan.FromSeconds(60));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>A client with its own cookie jar that does not follow redirects (the tests look at them).</summary>
    public HttpClient NewBrowserlessClient(CookieContainer? cookies = null) =>
        new(new HttpClientHandler { CookieContainer = cookies ?? new CookieContainer(), AllowAutoRedirect = false, UseCookies = true })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };

    /// <summary>A <see cref="BatonApiClient"/> of this server with the admin key: tests set up state through it, as an operator's tools do.</summary>
    public BatonApiClient NewApiClient() => BatonApiClient.Create(BaseAddress, AdminKey, timeout: TimeSpan.FromSeconds(30));

    /// <summary>
    /// Starts a catalog sync through the client (the <c>catalog-sync</c> run that seed 000's <c>POST /sync</c> and
    /// <c>baton sync</c> start); returns its run id.
    /// </summary>
    public async Task<string> StartCatalogSyncAsync() =>
        (await NewApiClient().StartAsync("catalog-sync", new { trigger = "dashboard-test" })).Run.Id;

    /// <summary>The antiforgery token of the first form on the page.</summary>
    public static string FormToken(string html) =>
        TokenPattern().Match(html) is { Success: true } match ? WebUtility.HtmlDecode(match.Groups[1].Value) : throw new InvalidOperationException("no antiforgery token on the page");

    /// <summary>Signs <paramref name="client"/> in through the sign-in form; returns the sign-in response.</summary>
    public static async Task<HttpResponseMessage> SignInAsync(HttpClient client, string key, string returnUrl = "/ui/runs")
    {
        var page = await client.GetStringAsync("/ui/signin");
        return await client.PostAsync("/ui/signin", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = FormToken(page),
            ["key"] = key,
            ["returnUrl"] = returnUrl,
        }));
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        if (_schema is not null)
        {
            await using var connection = new NpgsqlConnection(PostgresConnectionString);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{_schema}\" CASCADE", connection);
            await drop.ExecuteNonQueryAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();
}
