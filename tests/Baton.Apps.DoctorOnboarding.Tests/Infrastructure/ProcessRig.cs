using System.Text.Json;
using Baton.Hosting;
using Baton.RabbitMq;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Apps.DoctorOnboarding.Tests.Infrastructure;

/// <summary>
/// The orchestrator as a real server process (SIGKILL-able, restarted on the same SQLite file) and the simulators as a
/// separate process (<c>Baton.Simulators doctor-services</c>), both on the broker <see cref="RabbitMqUrl"/> with queues
/// of their own; the test talks to them as the API gateway does, and reads and switches the simulators through their
/// <c>*.debug.*</c> patterns.
/// </summary>
internal sealed class ProcessRig : IAsyncDisposable
{
    private readonly ServiceProvider _clients;
    private readonly string _directory = TestPaths.NewTempDirectory();
    private ChildProcess? _services;

    /// <summary>The server's admin key (for <c>/api</c> and <c>/metrics</c>).</summary>
    public const string AdminKey = "doctor-crash-key-51aa";

    public ProcessRig(string? rabbitMqUrl = null)
    {
        RabbitMqUrl = rabbitMqUrl ?? RabbitMqBroker.Url;
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddBaton().AddRabbitMq(RabbitMqUrl)
            .AddNestClient("gateway", Queue, o => o.DeclareQueue = true)
            .AddNestClient("accounts", AccountsQueue)
            .AddNestClient("directory", DirectoryQueue);
        _clients = services.BuildServiceProvider();
    }

    public string RabbitMqUrl { get; }

    public string Queue { get; } = RabbitMqBroker.NewQueueName("orchestrator");

    public string AccountsQueue { get; } = RabbitMqBroker.NewQueueName("accounts");

    public string DirectoryQueue { get; } = RabbitMqBroker.NewQueueName("directory");

    public ServerProcess? Server { get; private set; }

    public INestClient Gateway => _clients.GetRequiredKeyedService<INestClient>("gateway");

    public async Task StartSimulatorsAsync()
    {
        _services = ChildProcess.Start(Path.Combine(ChildProcess.SimulatorsDirectory, "Baton.Simulators.dll"),
            ["doctor-services", "--rabbitmq-url", RabbitMqUrl, "--accounts-queue", AccountsQueue, "--directory-queue", DirectoryQueue, "--events-queue", Queue],
            []);
        await Poll.UntilAsync(() => Task.FromResult(_services.Stdout.Contains("doctor-services ready", StringComparison.Ordinal)), ready => ready || _services.HasExited, "the simulators to start");
        Assert.False(_services.HasExited, _services.Output);
    }

    /// <summary>Starts the server on the rig's queues and SQLite file; <paramref name="more"/> adds or overrides environment.</summary>
    public async Task StartServerAsync(IReadOnlyDictionary<string, string?>? more = null)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ADMIN_KEY"] = AdminKey,
            ["RABBITMQ_URL"] = RabbitMqUrl,
            ["REDIS_URL"] = TestRedis.Url,
            ["ACCOUNTS_SERVICE_CLIENT_OPTIONS"] = JsonSerializer.Serialize(new { queue = AccountsQueue }),
            ["PROVIDER_DIRECTORY_CLIENT_OPTIONS"] = JsonSerializer.Serialize(new { queue = DirectoryQueue }),
            ["Baton__Apps__DoctorOnboarding__Enabled"] = "true",
            ["Baton__Apps__DoctorOnboarding__Queue"] = Queue,
            ["Baton__Store__Sqlite__Path"] = Path.Combine(_directory, "baton.db"),
            ["Baton__Demo__Enabled"] = null,
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        Server = ServerProcess.Start(environment);
        await Server.WaitForLiveAsync();
    }

    /// <summary>The simulators' state: <c>{"accounts":[...],"profiles":[...],"calls":[...]}</c>.</summary>
    public async Task<JsonElement> StateAsync() =>
        (await _clients.GetRequiredKeyedService<INestClient>("accounts").SendAsync("doctor-accounts.debug.state", null, TimeSpan.FromSeconds(10)))!.Value;

    public async Task<int> CallsAsync(string pattern) =>
        (await StateAsync()).GetProperty("calls").EnumerateArray().Count(c => c.GetString() == pattern);

    /// <summary>
    /// Waits until the simulators have received <paramref name="pattern"/> at least once; on a timeout the failure says
    /// what the simulators received, how the saga's request ended if it did, and what the server printed.
    /// </summary>
    public async Task WaitForCallAsync(string pattern, string what, Task pending)
    {
        try
        {
            // 60 s, not the default 30: the server process has just started (cold JIT) beside other test assemblies.
            await Poll.UntilAsync(() => CallsAsync(pattern), n => n >= 1, what, TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException ex)
        {
            var state = await StateAsync();
            var request = pending.IsCompleted ? $"ended: {pending.Exception?.GetBaseException().Message ?? "replied"}" : "still waiting";
            throw new TimeoutException(
                $"{ex.Message}\nsimulator calls: {state.GetProperty("calls")}\nthe saga's request: {request}\nserver output:\n{Server?.Output}\nsimulators output:\n{_services?.Output}", ex);
        }
    }

    /// <summary>Sets (or, with no fail/delay, clears) a fault of the simulators.</summary>
    /// <summary>Sets the simulators' fault for <paramref name="pattern"/>: <paramref name="delayMs"/> holds the call before it is carried out, <paramref name="replyDelayMs"/> holds its reply after.</summary>
    public Task FaultAsync(string pattern, bool failAlways = false, int delayMs = 0, string? message = null, int replyDelayMs = 0) =>
        _clients.GetRequiredKeyedService<INestClient>("accounts").SendAsync("doctor-accounts.debug.fault",
            new { pattern, failAlways, delayMs, message, replyDelayMs }, TimeSpan.FromSeconds(10));

    public async ValueTask DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        await _clients.DisposeAsync();
        try
        {
            await RabbitMqQueues.DeleteAsync(RabbitMqUrl, Queue, AccountsQueue, DirectoryQueue);
        }
        catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.BrokerUnreachableException or IOException)
        {
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
