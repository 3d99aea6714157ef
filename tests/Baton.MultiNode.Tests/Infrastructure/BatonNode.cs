using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Baton.MultiNode.Tests.Infrastructure;

/// <summary>One Baton node: the real server with the test workflows (Baton.MultiNode.Host) as a child process on 127.0.0.1.</summary>
public sealed class BatonNode : IAsyncDisposable
{
    public const string AdminKey = "multinode-admin-key-3f9a7c1e5b2d";

    private readonly ChildProcess _process;

    private BatonNode(string nodeId, int port, ChildProcess process)
    {
        NodeId = nodeId;
        Port = port;
        _process = process;
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Client.DefaultRequestHeaders.Add("X-ADMIN-KEY", AdminKey);
    }

    public string NodeId { get; }

    public int Port { get; }

    public Uri BaseAddress { get; }

    /// <summary>Sends the admin key.</summary>
    public HttpClient Client { get; }

    public bool HasExited => _process.HasExited;

    public string Output => _process.Output;

    public static string HostDll => Path.Combine(TestPaths.OutputDirectory("tests", "Baton.MultiNode.Host"), "Baton.MultiNode.Host.dll");

    public static BatonNode Start(string nodeId, string storeConnectionString, string effectsConnectionString, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var port = Ports.Free();
        var environment = new Dictionary<string, string?>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["BATON_PORT"] = port.ToString(CultureInfo.InvariantCulture),
            ["ADMIN_KEY"] = AdminKey,
            ["BATON_STORE"] = "postgres",
            ["BATON_POSTGRES"] = storeConnectionString,
            ["MULTINODE_EFFECTS"] = effectsConnectionString,
            ["Baton__Host"] = "127.0.0.1",
            ["Baton__Demo__Enabled"] = "false",
            ["Baton__Engine__NodeId"] = nodeId,
            // Short leases so a dead node's runs are taken over in seconds; heartbeats at a third of the lease.
            ["Baton__Engine__LeaseDuration"] = "00:00:03",
            ["Baton__Engine__HeartbeatInterval"] = "00:00:01",
            ["Baton__Engine__PollInterval"] = "00:00:00.200",
            ["Baton__Engine__SchedulerInterval"] = "00:00:00.250",
            ["Baton__Engine__DrainTimeout"] = "00:00:02",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Baton.Engine"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        if (!File.Exists(HostDll))
        {
            throw new InvalidOperationException($"{HostDll} is missing: build tests/Baton.MultiNode.Host (the test project references it)");
        }

        return new BatonNode(nodeId, port, ChildProcess.Start(HostDll, [], environment));
    }

    public Task WaitForReadyAsync(TimeSpan? timeout = null) => _process.WaitForOkAsync(new Uri(BaseAddress, "/health"), timeout ?? TimeSpan.FromSeconds(60));

    /// <summary>Waits for the process to exit by itself; returns its exit code.</summary>
    public Task<int> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    /// <summary>SIGKILL.</summary>
    public void Kill() => _process.Kill();

    /// <summary>SIGTERM (a clean shutdown); returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        _process.Terminate();
        return await _process.WaitForExitAsync(timeout);
    }

    /// <summary>POST /api/workflows/{workflow}/runs; returns the status code and the run id (on 202/200).</summary>
    public async Task<(HttpStatusCode Status, string? RunId)> StartRunAsync(string workflow, object? input = null, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/workflows/{workflow}/runs")
        {
            Content = new StringContent(JsonSerializer.Serialize(input ?? new { }), Encoding.UTF8, "application/json"),
        };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        using var response = await Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        string? id = null;
        if (response.IsSuccessStatusCode)
        {
            using var body = JsonDocument.Parse(text);
            id = body.RootElement.GetProperty("id").GetString();
        }

        return (response.StatusCode, id);
    }

    /// <summary>GET /health: status code and body (null when the node does not answer).</summary>
    public async Task<(HttpStatusCode? Status, JsonElement? Body)> HealthAsync()
    {
        try
        {
            using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
            using var response = await client.GetAsync("/health");
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return (response.StatusCode, body.RootElement.Clone());
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            return (null, null);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _process.DisposeAsync();
    }
}
