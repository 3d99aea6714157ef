using System.Net;
using System.Text.Json;
using Baton.Server;
using Baton.Demo.CatalogFeed;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.CatalogSync.Tests.Infrastructure;

/// <summary>
/// A catalog feed simulator and the real Baton server (real Kestrel on a free 127.0.0.1 port, real SQLite
/// store and catalog database in a temp directory) with the CatalogSync app switched on, in this process.
/// </summary>
internal sealed class SyncHarness : IAsyncDisposable
{
    public const string AdminKey = "catalog-admin-key-7f3a9c1e5b2d4e68";
    public const string FeedUser = "medipim-key-id-2f8e";
    public const string FeedSecret = "medipim-secret-9c4b61d2aa";

    private WebApplication? _app;
    private readonly Dictionary<string, string> _settings;

    private SyncHarness(CatalogFeedServer feed, string directory, Dictionary<string, string> settings, CatalogTarget catalog)
    {
        Catalog = catalog;
        Feed = feed;
        Directory = directory;
        _settings = settings;
    }

    public CatalogFeedServer Feed { get; }

    /// <summary>The catalog database this server writes (SQLite file or PostgreSQL schema).</summary>
    public CatalogTarget Catalog { get; }

    public string Directory { get; }

    public List<ProductRow> Products() => Catalog.Products();

    public List<DeadLetterRow> DeadLetters(string? runId = null) => Catalog.DeadLetters(runId);

    public string BlobDirectory => Path.Combine(Directory, "feeds");

    public CapturingLoggerProvider Logs { get; } = new();

    public HttpClient Client { get; private set; } = null!;

    public HttpClient Anonymous { get; private set; } = null!;

    public static async Task<SyncHarness> StartAsync(
        Action<CatalogFeedOptions>? feed = null, IDictionary<string, string>? settings = null, ProductsTarget target = ProductsTarget.Sqlite)
    {
        var options = new CatalogFeedOptions { Products = 2_000, User = FeedUser, Password = FeedSecret };
        feed?.Invoke(options);
        var server = await CatalogFeedServer.StartAsync(options);
        var directory = TestPaths.NewTempDirectory();
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["environment"] = "Production",
            ["contentRoot"] = directory,
            ["BATON_PORT"] = "0",
            ["ADMIN_KEY"] = AdminKey,
            ["Baton:Store:Sqlite:Path"] = Path.Combine(directory, "baton.db"),
            ["Baton:Engine:PollInterval"] = "00:00:00.050",
            ["Baton:Engine:ProgressFlushInterval"] = "00:00:00.100",
            ["Baton:Engine:SchedulerInterval"] = "00:00:00.200",
            ["Baton:Engine:DrainTimeout"] = "00:00:02",
            ["Baton:Demo:Enabled"] = "false",
            ["Baton:Apps:CatalogSync:Enabled"] = "true",
            ["MEDIPIM_API_URL"] = server.Url.ToString(),
            ["MEDIPIM_API_KEY_ID"] = FeedUser,
            ["MEDIPIM_API_KEY_SECRET"] = FeedSecret,
            ["Baton:Apps:CatalogSync:ChunkSize"] = "300",
            ["Baton:Apps:CatalogSync:Parallelism"] = "2",
            ["Baton:Apps:CatalogSync:FetchRetryDelay"] = "00:00:00.050",
            ["Baton:Apps:CatalogSync:ChunkRetryDelay"] = "00:00:00.050",
            ["Baton:Apps:CatalogSync:BlobDirectory"] = Path.Combine(directory, "feeds"),
        };
        var catalog = await CatalogTarget.CreateAsync(target, directory);
        foreach (var (key, value) in catalog.Settings().Concat(settings ?? new Dictionary<string, string>()))
        {
            values[key] = value;
        }

        var harness = new SyncHarness(server, directory, values, catalog);
        await harness.StartServerAsync();
        return harness;
    }

    /// <summary>Changes a setting for the next <see cref="StartServerAsync"/> (a configuration change across a restart).</summary>
    public void SetSetting(string key, string value) => _settings[key] = value;

    /// <summary>Starts (or restarts, on the same store and catalog database) the server.</summary>
    public async Task StartServerAsync()
    {
        var app = BatonServer.Build(
            _settings.Select(p => $"--{p.Key}={p.Value}").ToArray(),
            [new CatalogSyncApp()],
            configure: (builder, _) =>
            {
                builder.Logging.AddProvider(Logs);
                builder.Logging.SetMinimumLevel(LogLevel.Debug);
            });
        await app.StartAsync();
        _app = app;
        var baseAddress = new Uri(app.Urls.First());
        Client = New(baseAddress, AdminKey);
        Anonymous = New(baseAddress, null);
    }

    public async Task StopServerAsync()
    {
        Client.Dispose();
        Anonymous.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    /// <summary>POST /sync; asserts 200 and returns the run id.</summary>
    public async Task<string> StartSyncAsync()
    {
        using var response = await Client.PostAsync("/sync", null);
        var body = await ReadJsonAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST /sync answered {(int)response.StatusCode}: {body}");
        return body.GetProperty("status").GetProperty("runId").GetString()!;
    }

    public async Task<JsonElement> RunAsync(string runId)
    {
        using var response = await Client.GetAsync($"/api/runs/{runId}");
        return await ReadJsonAsync(response);
    }

    /// <summary>Polls the run until it is finished (succeeded, failed, cancelled).</summary>
    public Task<JsonElement> WaitFinishedAsync(string runId, TimeSpan? timeout = null) =>
        Poll.UntilAsync(
            () => RunAsync(runId),
            run => run.GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled" or "compensated" or "compensation_failed",
            $"run {runId} to finish",
            timeout ?? TimeSpan.FromSeconds(90));

    /// <summary>Polls the run until it has the step <paramref name="key"/>, with <paramref name="status"/> when given.</summary>
    public Task<JsonElement> WaitForStepAsync(string runId, string key, string? status = null) =>
        Poll.UntilAsync(
            () => RunAsync(runId),
            run => run.TryGetProperty("steps", out var steps) && steps.EnumerateArray().Any(
                s => s.GetProperty("key").GetString() == key && (status is null || s.GetProperty("status").GetString() == status)),
            $"run {runId} to have step {key}{(status is null ? "" : $" {status}")}",
            TimeSpan.FromSeconds(60));

    /// <summary>
    /// POST /sync with the feed's cut (<see cref="CatalogFeedOptions.CutAtByte"/>) held until the run has step
    /// <paramref name="key"/> (with <paramref name="status"/> when given); returns the run id. An abort discards the bytes
    /// the client had not read yet, so without the hold how many chunks were handed out before the cut depends on the
    /// machine's load (in CI a cut at 1.5 MB once left fewer bytes than one chunk).
    /// </summary>
    public Task<string> StartSyncCutAfterStepAsync(string key, string? status = null) =>
        StartSyncHoldingTheCutAsync(runId => WaitForStepAsync(runId, key, status));

    /// <summary>
    /// POST /sync with the feed's cut held until the run's partial file has at least <paramref name="bytes"/> bytes (see
    /// <see cref="StartSyncCutAfterStepAsync"/>); returns the run id.
    /// </summary>
    public Task<string> StartSyncCutAfterBytesAsync(long bytes) =>
        StartSyncHoldingTheCutAsync(runId => Poll.UntilAsync(
            () => Task.FromResult(System.IO.Directory.Exists(BlobDirectory) ? System.IO.Directory.GetFiles(BlobDirectory, "*.part").Select(f => new FileInfo(f).Length).DefaultIfEmpty(0).Max() : 0),
            length => length >= bytes,
            $"run {runId}'s partial file to reach {bytes} bytes",
            TimeSpan.FromSeconds(60)));

    private async Task<string> StartSyncHoldingTheCutAsync(Func<string, Task> until)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Feed.Options.BeforeCut = () => gate.Task;
        var runId = await StartSyncAsync();
        try
        {
            await until(runId);
        }
        finally
        {
            gate.TrySetResult();
        }

        return runId;
    }

    /// <summary>Starts a sync and waits for it; asserts it succeeded and returns its output.</summary>
    public async Task<JsonElement> SyncAsync()
    {
        var runId = await StartSyncAsync();
        var run = await WaitFinishedAsync(runId);
        Assert.True(run.GetProperty("status").GetString() == "succeeded", $"run {runId}: {run}");
        return run.GetProperty("output");
    }

    public async Task<JsonElement> StatusAsync()
    {
        using var response = await Client.GetAsync("/status");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReadJsonAsync(response);
    }

    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (text.Length == 0)
        {
            return default;
        }

        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    private static HttpClient New(Uri baseAddress, string? key)
    {
        var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add("X-ADMIN-KEY", key);
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await StopServerAsync();
        await Feed.DisposeAsync();
        await Catalog.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
