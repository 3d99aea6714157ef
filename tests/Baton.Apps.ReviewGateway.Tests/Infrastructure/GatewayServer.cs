using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Baton.Runs;
using Baton.Server;
using Baton.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.ReviewGateway.Tests.Infrastructure;

/// <summary>
/// The real Baton server with the gateway switched on, in this process: real Kestrel on free 127.0.0.1
/// ports (main listener and the gateway's own), real SQLite in a temp directory, forwarding to
/// <see cref="WorkerUrl"/> with short retry delays.
/// </summary>
internal sealed class GatewayServer : IAsyncDisposable
{
    public const string AdminKey = "gateway-test-key-3f9a1c7e";
    public const string Workflow = "review-forward";

    private readonly WebApplication _app;

    private GatewayServer(WebApplication app, string directory, int gatewayPort, CapturingLoggerProvider logs)
    {
        _app = app;
        Logs = logs;
        Directory = directory;
        Main = new HttpClient { BaseAddress = new Uri(app.Urls.First(u => !u.EndsWith($":{gatewayPort}", StringComparison.Ordinal))), Timeout = TimeSpan.FromSeconds(30) };
        Main.DefaultRequestHeaders.Add("X-ADMIN-KEY", AdminKey);
        Gateway = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{gatewayPort}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public string Directory { get; }

    /// <summary>Every log line of Warning and above.</summary>
    public CapturingLoggerProvider Logs { get; }

    /// <summary>Baton's main listener, with the admin key.</summary>
    public HttpClient Main { get; }

    /// <summary>The gateway's own listener (the seed's API), without a key.</summary>
    public HttpClient Gateway { get; }

    public IBatonClient Baton => _app.Services.GetRequiredService<IBatonClient>();

    /// <summary>The store, for what the client's views leave out on purpose (leases).</summary>
    public IBatonStore Store => _app.Services.GetRequiredService<IBatonStore>();

    /// <summary>A gateway storing in a database of its own on <paramref name="cluster"/> (a cluster a test can freeze).</summary>
    public static async Task<GatewayServer> StartOnPostgresAsync(PostgresCluster cluster, Uri workerUrl, IDictionary<string, string>? settings = null)
    {
        var values = new Dictionary<string, string>(settings ?? new Dictionary<string, string>())
        {
            ["BATON_STORE"] = "postgres",
            ["BATON_POSTGRES"] = await cluster.CreateDatabaseAsync("baton"),
        };
        return await StartAsync(workerUrl, values);
    }

    public static async Task<GatewayServer> StartAsync(Uri workerUrl, IDictionary<string, string>? settings = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "baton-gateway-tests", Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(directory);
        var gatewayPort = Ports.Free();
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["environment"] = "Production",
            ["contentRoot"] = directory,
            ["BATON_PORT"] = "0",
            ["ADMIN_KEY"] = AdminKey,
            ["PORT"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["WORKER_NODE_URL"] = workerUrl.ToString(),
            ["Baton:Apps:ReviewGateway:Enabled"] = "true",
            ["Baton:Apps:ReviewGateway:BaseDelay"] = "00:00:00.050",
            ["Baton:Apps:ReviewGateway:MaxDelay"] = "00:00:00.200",
            ["Baton:Apps:ReviewGateway:AttemptTimeout"] = "00:00:02",
            ["Baton:Demo:Enabled"] = "false",
            ["Baton:Store:Sqlite:Path"] = Path.Combine(directory, "baton.db"),
            ["Baton:Engine:PollInterval"] = "00:00:00.050",
            ["Baton:Engine:ProgressFlushInterval"] = "00:00:00.100",
            ["Baton:Engine:DrainTimeout"] = "00:00:02",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            values[key] = value;
        }

        var logs = new CapturingLoggerProvider();
        var app = BatonServer.Build(
            values.Select(p => $"--{p.Key}={p.Value}").ToArray(),
            [new ReviewGatewayApp()],
            (builder, _) => builder.Logging.SetMinimumLevel(LogLevel.Warning).AddProvider(logs));
        await app.StartAsync();
        await WorkerStart.WaitAsync(app.Services);
        return new GatewayServer(app, directory, gatewayPort, logs);
    }

    /// <summary>POSTs <paramref name="body"/> to /enqueue with the given content type (null: no content type header).</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body, string? ContentType)> EnqueueRawAsync(string body, string? contentType = "application/json")
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        if (contentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        using var response = await Gateway.PostAsync("/enqueue", content);
        return (response.StatusCode, await ReadJsonAsync(response), response.Content.Headers.ContentType?.MediaType);
    }

    public Task<(HttpStatusCode Status, JsonElement Body, string? ContentType)> EnqueueAsync(string placeId) =>
        EnqueueRawAsync(JsonSerializer.Serialize(new { placeId }));

    /// <summary>Every run of the forwarding workflow, newest first.</summary>
    public async Task<IReadOnlyList<RunInfo>> RunsAsync()
    {
        var runs = new List<RunInfo>();
        string? cursor = null;
        do
        {
            var page = await Baton.ListRunsAsync(new ListRunsRequest { Workflow = Workflow, Cursor = cursor, Limit = RunLimits.MaxPageSize });
            runs.AddRange(page.Runs);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return runs;
    }

    public Task<RunDetails?> RunAsync(string runId) => Baton.GetRunAsync(runId);

    public Task<RunDetails> WaitForRunAsync(string runId, params RunStatus[] statuses) =>
        Poll.UntilAsync(async () => (await Baton.GetRunAsync(runId))!, d => statuses.Contains(d.Run.Status), $"run {runId} to reach {string.Join('/', statuses)}")!;

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

    public async ValueTask DisposeAsync()
    {
        Main.Dispose();
        Gateway.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
