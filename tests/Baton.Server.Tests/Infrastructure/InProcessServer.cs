using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Baton.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Baton.Server.Tests.Infrastructure;

/// <summary>
/// The real server (real Kestrel on a free 127.0.0.1 port, real SQLite store in a temp directory) in
/// this process, with every log line captured.
/// </summary>
internal sealed class InProcessServer : IAsyncDisposable
{
    public const string AdminKey = "test-admin-key-5b1d9e7c2a8f4e60";

    private readonly WebApplication _app;

    private InProcessServer(WebApplication app, string directory, CapturingLoggerProvider logs)
    {
        _app = app;
        Directory = directory;
        Logs = logs;
        BaseAddress = new Uri(app.Urls.First());
        Client = NewClient(AdminKey);
        Anonymous = NewClient(null);
    }

    public string Directory { get; }

    public CapturingLoggerProvider Logs { get; }

    public Uri BaseAddress { get; }

    /// <summary>Sends the admin key on every request.</summary>
    public HttpClient Client { get; }

    /// <summary>Sends no key.</summary>
    public HttpClient Anonymous { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<InProcessServer> StartAsync(
        IDictionary<string, string>? settings = null,
        Action<WebApplicationBuilder, BatonBuilder>? configure = null,
        LogLevel minimumLevel = LogLevel.Information,
        string environment = "Production",
        IEnumerable<Baton.Server.Configuration.IBatonApp>? apps = null)
    {
        var directory = TestPaths.NewTempDirectory();
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["environment"] = environment,
            ["contentRoot"] = directory,
            ["BATON_PORT"] = "0",
            ["ADMIN_KEY"] = AdminKey,
            ["Baton:Store:Sqlite:Path"] = Path.Combine(directory, "baton.db"),
            ["Baton:Engine:PollInterval"] = "00:00:00.050",
            ["Baton:Engine:ProgressFlushInterval"] = "00:00:00.100",
            ["Baton:Engine:SchedulerInterval"] = "00:00:00.200",
            ["Baton:Engine:DrainTimeout"] = "00:00:02",
            // The tests use the demo workflow; outside Development it is off unless switched on.
            ["Baton:Demo:Enabled"] = "true",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            values[key] = value;
        }

        var logs = new CapturingLoggerProvider();
        var app = BatonServer.Build(
            values.Select(p => $"--{p.Key}={p.Value}").ToArray(),
            apps,
            configure: (builder, baton) =>
            {
                builder.Logging.AddProvider(logs);
                builder.Logging.SetMinimumLevel(minimumLevel);
                configure?.Invoke(builder, baton);
            });
        await app.StartAsync();
        await WorkerStart.WaitAsync(app.Services);
        return new InProcessServer(app, directory, logs);
    }

    public HttpClient NewClient(string? key)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add("X-ADMIN-KEY", key);
        }

        return client;
    }

    /// <summary>Starts a run; returns the status code and the parsed body.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)> StartRunAsync(string workflow, string? json = "{}", string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/workflows/{workflow}/runs");
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        using var response = await Client.SendAsync(request);
        return (response.StatusCode, await ReadJsonAsync(response));
    }

    public async Task<JsonElement> GetRunAsync(string id)
    {
        using var response = await Client.GetAsync($"/api/runs/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReadJsonAsync(response);
    }

    /// <summary>Polls GET /api/runs/{id} every 50 ms until its status is one of <paramref name="statuses"/>.</summary>
    public Task<JsonElement> WaitForStatusAsync(string id, params string[] statuses) =>
        Poll.UntilAsync(() => GetRunAsync(id), run => statuses.Contains(run.GetProperty("status").GetString()), $"run {id} to reach {string.Join("/", statuses)}");

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

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static JsonContent Json<T>(T value) => JsonContent.Create(value);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Anonymous.Dispose();
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
