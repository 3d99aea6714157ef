using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Baton.Apps.ReviewGateway.Tests.Infrastructure;

/// <summary>The real server with the gateway switched on, as a child process (for SIGTERM and SIGKILL tests).</summary>
internal static class GatewayProcess
{
    public static string ServerDll => Path.Combine(ChildProcess.ServerDirectory, "Baton.Server.dll");

    public static string SimulatorDll => Path.Combine(ChildProcess.SimulatorsDirectory, "Baton.Simulators.dll");

    /// <summary>
    /// A fresh store directory and free ports: the environment of a gateway forwarding to a worker node on
    /// <c>WorkerPort</c> (not started), the gateway's address, and a client of it.
    /// </summary>
    public static (Dictionary<string, string?> Environment, Uri GatewayUrl, int WorkerPort, HttpClient Client) Prepare(string adminKey)
    {
        var directory = Path.Combine(Path.GetTempPath(), "baton-gateway-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var workerPort = Ports.Free();
        var gatewayPort = Ports.Free();
        var gatewayUrl = new Uri($"http://127.0.0.1:{gatewayPort}");
        return (Environment(directory, adminKey, gatewayPort, workerPort), gatewayUrl, workerPort, new HttpClient { BaseAddress = gatewayUrl, Timeout = TimeSpan.FromSeconds(10) });
    }

    /// <summary>The environment of a gateway on <paramref name="gatewayPort"/> forwarding to a worker node on <paramref name="workerPort"/>, its store in <paramref name="directory"/>.</summary>
    public static Dictionary<string, string?> Environment(string directory, string adminKey, int gatewayPort, int workerPort) => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["ADMIN_KEY"] = adminKey,
        ["BATON_PORT"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
        ["PORT"] = gatewayPort.ToString(CultureInfo.InvariantCulture),
        ["WORKER_NODE_URL"] = $"http://127.0.0.1:{workerPort}",
        ["Baton__Apps__ReviewGateway__Enabled"] = "true",
        ["Baton__Apps__ReviewGateway__BaseDelay"] = "00:00:00.100",
        ["Baton__Apps__ReviewGateway__MaxDelay"] = "00:00:00.500",
        ["Baton__Demo__Enabled"] = "false",
        ["Baton__Store__Sqlite__Path"] = Path.Combine(directory, "baton.db"),
        ["Baton__Engine__PollInterval"] = "00:00:00.100",
        ["Baton__Engine__DrainTimeout"] = "00:00:03",
    };

    /// <summary>Starts the worker node simulator on <paramref name="workerPort"/> and waits until it answers.</summary>
    public static async Task<ChildProcess> StartWorkerAsync(int workerPort)
    {
        var worker = ChildProcess.Start(SimulatorDll, ["worker-node", "--port", workerPort.ToString(CultureInfo.InvariantCulture)], new Dictionary<string, string?>());
        await worker.WaitForOkAsync(new Uri($"http://127.0.0.1:{workerPort}/health"));
        return worker;
    }

    /// <summary>POST /enqueue with a placeId; returns the status code.</summary>
    public static async Task<System.Net.HttpStatusCode> EnqueueAsync(HttpClient gateway, string placeId)
    {
        using var content = new StringContent($$"""{"placeId":"{{placeId}}"}""", Encoding.UTF8, "application/json");
        using var response = await gateway.PostAsync("/enqueue", content);
        return response.StatusCode;
    }

    /// <summary>The gateway's count of accepted jobs not forwarded yet (<c>/health</c>).</summary>
    public static async Task<long> PendingForwardAsync(HttpClient gateway)
    {
        using var health = await gateway.GetAsync("/health");
        return JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("jobs_pending_forward").GetInt64();
    }

    /// <summary>The jobs the worker node simulator received, with how often each arrived.</summary>
    public static async Task<Dictionary<string, int>> ReadJobsAsync(HttpClient worker)
    {
        var text = await worker.GetStringAsync("/control/jobs");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .ToDictionary(parts => parts[0], parts => int.Parse(parts[1], CultureInfo.InvariantCulture));
    }
}
