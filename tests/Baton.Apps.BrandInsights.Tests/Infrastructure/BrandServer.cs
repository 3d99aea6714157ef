using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;

namespace Baton.Apps.BrandInsights.Tests.Infrastructure;

/// <summary>The real server with the brand insights app switched on, as a child process, against a given Redis.</summary>
internal sealed class BrandServer : IAsyncDisposable
{
    public const string AdminKey = "brand-tests-admin-key";

    private BrandServer(ChildProcess process, int httpPort, int prometheusPort, int mainPort)
    {
        Process = process;
        HttpPort = httpPort;
        PrometheusPort = prometheusPort;
        MainPort = mainPort;
    }

    public ChildProcess Process { get; }

    public int HttpPort { get; }

    public int PrometheusPort { get; }

    public int MainPort { get; }

    /// <summary>
    /// The environment of a server consuming <paramref name="redisUrl"/> with its SQLite store in <paramref name="directory"/>
    /// (or PostgreSQL when <paramref name="postgres"/> is given), fast brand refresh and engine polls.
    /// </summary>
    public static Dictionary<string, string?> Environment(string redisUrl, string directory, string orchestratorId, string? postgres = null) => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["ADMIN_KEY"] = AdminKey,
        ["REDIS_URL"] = redisUrl,
        ["ORCHESTRATOR_ID"] = orchestratorId,
        ["BRAND_REFRESH_INTERVAL_SEC"] = "0.2",
        ["RETRY_BACKOFF_BASE"] = "0.2",
        ["Baton__Apps__BrandInsights__Enabled"] = "true",
        ["Baton__Demo__Enabled"] = "false",
        ["Baton__Store__Sqlite__Path"] = postgres is null ? Path.Combine(directory, "baton.db") : null,
        ["BATON_STORE"] = postgres is null ? "sqlite" : "postgres",
        ["BATON_POSTGRES"] = postgres,
        ["Baton__Engine__PollInterval"] = "00:00:00.050",
        ["Baton__Engine__ProgressFlushInterval"] = "00:00:00.100",
        ["Baton__Engine__DrainTimeout"] = "00:00:03",
    };

    /// <summary>Starts the server with <paramref name="environment"/> on fresh ports and waits until its <c>/health</c> answers.</summary>
    public static async Task<BrandServer> StartAsync(Dictionary<string, string?> environment, bool waitForHealth = true)
    {
        var httpPort = Ports.Free();
        var prometheusPort = Ports.Free();
        var mainPort = Ports.Free();
        var variables = new Dictionary<string, string?>(environment)
        {
            ["HTTP_PORT"] = httpPort.ToString(CultureInfo.InvariantCulture),
            ["PROMETHEUS_PORT"] = prometheusPort.ToString(CultureInfo.InvariantCulture),
            ["BATON_PORT"] = mainPort.ToString(CultureInfo.InvariantCulture),
        };
        var process = ChildProcess.Start(Path.Combine(ChildProcess.ServerDirectory, "Baton.Server.dll"), [], variables);
        var server = new BrandServer(process, httpPort, prometheusPort, mainPort);
        if (waitForHealth)
        {
            await process.WaitForOkAsync(new Uri($"http://127.0.0.1:{mainPort}/healthz"));
        }

        return server;
    }

    public static string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "baton-brand-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        return directory;
    }

    /// <summary>GET /health on HTTP_PORT: the status code and the body.</summary>
    public async Task<(int Status, JsonElement Body)> HealthAsync()
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var response = await client.GetAsync(new Uri($"http://127.0.0.1:{HttpPort}/health"));
        return ((int)response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    public async Task<string> MetricsAsync()
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        return await client.GetStringAsync(new Uri($"http://127.0.0.1:{PrometheusPort}/metrics"));
    }

    /// <summary>
    /// Scrapes <c>/metrics</c> until it holds <paramref name="line"/>: a chunk is counted just after its effect is in Redis
    /// (a dead letter after the ack that pushed it, a merge after the summary's transaction), so a test that saw the effect
    /// may scrape before the count.
    /// </summary>
    public Task<string> WaitForMetricAsync(string line) =>
        Poll.UntilAsync(MetricsAsync, m => m.Contains(line, StringComparison.Ordinal), $"'{line}' on /metrics");

    public HttpClient ApiClient()
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{MainPort}"), Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Add("X-ADMIN-KEY", AdminKey);
        return client;
    }

    public ValueTask DisposeAsync() => Process.DisposeAsync();

    /// <summary>The messages of the server's JSON log lines so far (unescaped).</summary>
    public IReadOnlyList<string> LogMessages() =>
        [.. Process.Output.Split('\n').Where(l => l.StartsWith('{')).Select(l =>
        {
            try
            {
                return JsonDocument.Parse(l).RootElement.GetProperty("Message").GetString() ?? "";
            }
            catch (JsonException)
            {
                return l;
            }
        })];

    /// <summary>Polls <c>summary:brand:&lt;brand&gt;</c> until <paramref name="done"/> holds for it; returns it.</summary>
    public static Task<JsonElement> WaitForSummaryAsync(IDatabase db, string brand, Func<JsonElement, bool> done, TimeSpan? timeout = null) =>
        Poll.UntilAsync(
            async () => await db.StringGetAsync(BrandKeys.Summary(brand)) is { IsNull: false } value ? JsonDocument.Parse((string)value!).RootElement.Clone() : default,
            summary => summary.ValueKind == JsonValueKind.Object && done(summary),
            $"summary:brand:{brand}",
            timeout);
}

/// <summary>Runs the real <c>redis-cli</c>, as the seed's quick check does.</summary>
internal static class RedisCli
{
    public static async Task<string> RunAsync(int port, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"redis-cli {string.Join(' ', arguments)} exited with {process.ExitCode}: {await process.StandardError.ReadToEndAsync()}");
        return output.TrimEnd('\n');
    }
}
