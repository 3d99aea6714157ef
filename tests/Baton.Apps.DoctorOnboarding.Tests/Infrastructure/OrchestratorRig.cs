using System.Text.Json;
using Baton.Hosting;
using Baton.RabbitMq;
using Baton.Runs;
using Baton.Server;
using Baton.Simulators.DoctorServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.DoctorOnboarding.Tests.Infrastructure;

/// <summary>
/// The whole thing through the real broker: the real Baton server with the app switched on (in this process, real
/// SQLite in a temp dir), the simulators as NestJS microservices, and a NestJS client in the API gateway's place. Every
/// queue is new per rig (the shared broker), the cache is the shared Redis's database 9 unless told otherwise.
/// </summary>
internal sealed class OrchestratorRig : IAsyncDisposable
{
    private readonly ServiceProvider _gateway;
    private WebApplication? _app;

    private OrchestratorRig(string url, string redisUrl, ServiceProvider gateway, DoctorServicesHost services, string directory, (string Queue, string Accounts, string Directory) queues)
    {
        Queue = queues.Queue;
        AccountsQueue = queues.Accounts;
        DirectoryQueue = queues.Directory;
        RabbitMqUrl = url;
        RedisUrl = redisUrl;
        _gateway = gateway;
        Services = services;
        Directory = directory;
    }

    public string Queue { get; }

    public string AccountsQueue { get; }

    public string DirectoryQueue { get; }

    public string RabbitMqUrl { get; }

    public string RedisUrl { get; }

    public string Directory { get; }

    public DoctorServicesHost Services { get; }

    public DoctorServicesSimulator Simulator => Services.Simulator;

    /// <summary>The API gateway's client of the orchestrator's queue.</summary>
    public INestClient Gateway => _gateway.GetRequiredKeyedService<INestClient>("gateway");

    public IBatonClient Baton => _app!.Services.GetRequiredService<IBatonClient>();

    public static async Task<OrchestratorRig> StartAsync(string? rabbitMqUrl = null, string? redisUrl = null, Dictionary<string, string>? settings = null)
    {
        var url = rabbitMqUrl ?? RabbitMqBroker.Url;
        var gatewayServices = new ServiceCollection();
        gatewayServices.AddLogging();
        var directory = TestPaths.NewTempDirectory();
        var queue = RabbitMqBroker.NewQueueName("orchestrator");
        var accounts = RabbitMqBroker.NewQueueName("accounts");
        var directoryQueue = RabbitMqBroker.NewQueueName("directory");
        gatewayServices.AddBaton().AddRabbitMq(url).AddNestClient("gateway", queue);
        var services = await DoctorServicesHost.StartAsync(url, accounts, directoryQueue, queue);
        var rig = new OrchestratorRig(url, redisUrl ?? TestRedis.Url, gatewayServices.BuildServiceProvider(), services, directory, (queue, accounts, directoryQueue));
        await rig.StartServerAsync(settings);
        return rig;
    }

    private async Task StartServerAsync(Dictionary<string, string>? settings)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["environment"] = "Production",
            ["contentRoot"] = Directory,
            ["BATON_PORT"] = "0",
            ["ADMIN_KEY"] = "doctor-test-key-7c1e",
            ["RABBITMQ_URL"] = RabbitMqUrl,
            ["REDIS_URL"] = RedisUrl,
            ["ACCOUNTS_SERVICE_CLIENT_OPTIONS"] = JsonSerializer.Serialize(new { queue = AccountsQueue }),
            ["PROVIDER_DIRECTORY_CLIENT_OPTIONS"] = JsonSerializer.Serialize(new { queue = DirectoryQueue }),
            ["Baton:Apps:DoctorOnboarding:Enabled"] = "true",
            ["Baton:Apps:DoctorOnboarding:Queue"] = Queue,
            ["Baton:Demo:Enabled"] = "false",
            ["Baton:Store:Sqlite:Path"] = Path.Combine(Directory, "baton.db"),
            ["Baton:Engine:PollInterval"] = "00:00:00.050",
            ["Baton:Engine:DrainTimeout"] = "00:00:02",
        };
        foreach (var (key, value) in settings ?? [])
        {
            values[key] = value;
        }

        _app = BatonServer.Build(values.Select(p => $"--{p.Key}={p.Value}").ToArray(), [new DoctorOnboardingApp()],
            (builder, _) => builder.Logging.SetMinimumLevel(LogLevel.Warning));
        await _app.StartAsync();
    }

    /// <summary>Sends a request as the API gateway would, with a generous timeout.</summary>
    public Task<JsonElement?> SendAsync(string pattern, object? data, TimeSpan? timeout = null) =>
        Gateway.SendAsync(pattern, data, timeout ?? TimeSpan.FromSeconds(30));

    public static object Doctor(string email) => new { email, password = "s3cret-pass", fullName = "Ada Lovelace", dob = "1815-12-10", profile = new { degree = "MD" } };

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        await Services.DisposeAsync();
        await _gateway.DisposeAsync();
        await RabbitMqQueues.DeleteAsync(RabbitMqUrl, Queue, AccountsQueue, DirectoryQueue);
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
