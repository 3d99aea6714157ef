using System.Text.Json;
using System.Text.Json.Nodes;
using Baton.Hosting;
using Baton.RabbitMq;
using Baton.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Baton.Simulators.DoctorServices;

/// <summary>
/// The accounts and provider-directory simulators as NestJS RMQ microservices on their queues, through Baton's RabbitMQ
/// transport (its server needs an engine: a throwaway SQLite file it never runs workflows on). Domain events go to
/// <c>eventsQueue</c> (the orchestrator's queue) when given. Besides the services' patterns each queue answers
/// <c>*.debug.state</c> (the state as JSON), <c>*.debug.fault</c> (<c>{"pattern","failAlways","failTimes","delayMs","replyDelayMs","message"}</c>;
/// no field but the pattern clears it) and <c>*.debug.reset</c>, so a test in another process can set and read it.
/// </summary>
public sealed class DoctorServicesHost : IAsyncDisposable
{
    private const string EventsClient = "doctor-services.events";

    private readonly ServiceProvider _services;
    private readonly List<IHostedService> _hosted;
    private readonly string _directory;

    private DoctorServicesHost(ServiceProvider services, DoctorServicesSimulator simulator, string directory)
    {
        _services = services;
        _directory = directory;
        Simulator = simulator;
        _hosted = [.. services.GetServices<IHostedService>()];
    }

    public DoctorServicesSimulator Simulator { get; }

    public static async Task<DoctorServicesHost> StartAsync(
        string rabbitMqUrl, string accountsQueue, string directoryQueue, string? eventsQueue,
        DoctorServicesSimulator? simulator = null, ILoggerProvider? logs = null)
    {
        simulator ??= new DoctorServicesSimulator();
        var directory = Path.Combine(Path.GetTempPath(), $"baton-doctor-services-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            b.SetMinimumLevel(LogLevel.Warning);
            if (logs is not null)
            {
                b.AddProvider(logs);
            }
        });
        var baton = services.AddBaton(o =>
        {
            o.RunScheduler = false;
            o.NodeId = "doctor-services";
        }).UseSqlite(o => o.Path = Path.Combine(directory, "engine.db")).AddRabbitMq(rabbitMqUrl);
        Serve(baton.AddNestServer(accountsQueue), simulator, DoctorServicesSimulator.AccountPatterns, "doctor-accounts");
        Serve(baton.AddNestServer(directoryQueue), simulator, DoctorServicesSimulator.DirectoryPatterns, "doctor-profile");
        if (eventsQueue is not null)
        {
            baton.AddNestClient(EventsClient, eventsQueue);
        }

        var host = new DoctorServicesHost(services.BuildServiceProvider(), simulator, directory);
        if (eventsQueue is not null)
        {
            var events = host._services.GetRequiredKeyedService<INestClient>(EventsClient);
            simulator.EmitEventAsync = (pattern, data) => events.EmitAsync(pattern, data);
        }

        foreach (var hosted in host._hosted)
        {
            await hosted.StartAsync(CancellationToken.None).ConfigureAwait(false);
        }

        return host;
    }

    /// <summary>
    /// The <c>doctor-services</c> simulator: <c>--rabbitmq-url</c> (default <c>RABBITMQ_URL</c> or amqp://guest:guest@127.0.0.1:5672/),
    /// <c>--accounts-queue</c> (accounts_queue), <c>--directory-queue</c> (provider_directory_queue), <c>--events-queue</c>
    /// (orchestrator_queue; <c>none</c> for no events), <c>--seed-events-only</c> (emit only the seed's two <c>*.updated</c>
    /// events). Runs until stopped (SIGTERM, Ctrl+C).
    /// </summary>
    public static async Task<int> RunAsync(string[] args)
    {
        string Arg(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        var url = Arg("--rabbitmq-url", Environment.GetEnvironmentVariable("RABBITMQ_URL") is { Length: > 0 } env ? env : "amqp://guest:guest@127.0.0.1:5672/");
        var events = Arg("--events-queue", "orchestrator_queue");
        await using var host = await StartAsync(url, Arg("--accounts-queue", "accounts_queue"), Arg("--directory-queue", "provider_directory_queue"),
            events == "none" ? null : events).ConfigureAwait(false);
        host.Simulator.SeedEventsOnly = args.Contains("--seed-events-only");
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();
        await Console.Out.WriteLineAsync("doctor-services ready").ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _hosted.Count - 1; i >= 0; i--)
        {
            await _hosted[i].StopAsync(CancellationToken.None).ConfigureAwait(false);
        }

        await _services.DisposeAsync().ConfigureAwait(false);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static void Serve(NestServerBuilder server, DoctorServicesSimulator simulator, IReadOnlyList<string> patterns, string prefix)
    {
        foreach (var pattern in patterns)
        {
            server.AddNestPattern(pattern, async (request, ct) =>
            {
                try
                {
                    var reply = await simulator.HandleAsync(pattern, request.Data, ct).ConfigureAwait(false);
                    return reply is null ? null : JsonSerializer.SerializeToElement(reply);
                }
                catch (SimulatedServiceException ex)
                {
                    throw new NestRpcException(JsonSerializer.SerializeToElement(ex.ToError()));
                }
            });
        }

        server.AddNestPattern($"{prefix}.debug.fault", (request, _) =>
        {
            var data = JsonNode.Parse(request.Data.GetRawText())!.AsObject();
            var pattern = data["pattern"]!.GetValue<string>();
            var fault = new PatternFault
            {
                FailAlways = data["failAlways"]?.GetValue<bool>() ?? false, FailTimes = data["failTimes"]?.GetValue<int>() ?? 0,
                DelayMs = data["delayMs"]?.GetValue<int>() ?? 0, ReplyDelayMs = data["replyDelayMs"]?.GetValue<int>() ?? 0,
                Message = data["message"]?.GetValue<string>(),
            };
            if (fault is { FailAlways: false, FailTimes: 0, DelayMs: 0, ReplyDelayMs: 0 })
            {
                simulator.Faults.Clear(pattern);
            }
            else
            {
                simulator.Faults.Set(pattern, fault);
            }

            return Task.FromResult<JsonElement?>(JsonSerializer.SerializeToElement(new { ok = true }));
        });
        server.AddNestPattern($"{prefix}.debug.reset", (_, _) =>
        {
            simulator.State.Reset();
            simulator.Faults.ClearAll();
            return Task.FromResult<JsonElement?>(JsonSerializer.SerializeToElement(new { ok = true }));
        });
    }
}
