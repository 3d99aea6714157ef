using Baton.Hosting;
using Baton.RabbitMq.Server;
using Baton.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace Baton.RabbitMq.Tests.Support;

/// <summary>
/// An engine on a temp SQLite file with the RabbitMQ transport on a real broker, its hosted services started (and the
/// Nest servers consuming) before the test goes on; stopped, queues deleted and files removed on dispose.
/// </summary>
internal sealed class NestHost : IAsyncDisposable
{
    private readonly List<IHostedService> _hosted = [];
    private readonly List<string> _queues = [];
    private readonly string _directory;

    private NestHost(ServiceProvider services, CapturingLoggerProvider logs, string directory)
    {
        Services = services;
        Logs = logs;
        _directory = directory;
    }

    public ServiceProvider Services { get; }

    public CapturingLoggerProvider Logs { get; }

    public INestClient Client(string name) => Services.GetRequiredKeyedService<INestClient>(name);

    public static async Task<NestHost> StartAsync(
        Action<BatonBuilder> configure, string? url = null, TimeProvider? time = null, IEnumerable<string>? queues = null, CapturingLoggerProvider? logs = null,
        string? database = null, Action<BatonOptions>? engine = null)
    {
        await EnsureReachableAsync(url ?? RabbitMqBroker.Url);
        var services = new ServiceCollection();
        var capture = logs ?? new CapturingLoggerProvider();
        services.AddLogging(b => b.AddProvider(capture).SetMinimumLevel(LogLevel.Debug));
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        var directory = TestPaths.NewTempDirectory();
        var baton = services.AddBaton(o =>
            {
                o.RunScheduler = false;
                engine?.Invoke(o);
            })
            .UseSqlite(o => o.Path = database ?? Path.Combine(directory, "baton.db"))
            .AddRabbitMq(url ?? RabbitMqBroker.Url);
        configure(baton);
        var host = new NestHost(services.BuildServiceProvider(), capture, directory);
        host._queues.AddRange(queues ?? []);
        try
        {
            await host.StartHostedAsync();
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }

        return host;
    }

    // A broker that cannot be reached fails the test at once with how to start one, not with a consumer timeout.
    private static async Task EnsureReachableAsync(string url)
    {
        try
        {
            await using var connection = await new ConnectionFactory { Uri = new Uri(url) }.CreateConnectionAsync();
        }
        catch (RabbitMQ.Client.Exceptions.BrokerUnreachableException ex)
        {
            throw new InvalidOperationException(RabbitMqBroker.Unreachable(ex.InnerException?.Message ?? ex.Message), ex);
        }
    }

    private async Task StartHostedAsync()
    {
        foreach (var service in Services.GetServices<IHostedService>())
        {
            await service.StartAsync(CancellationToken.None);
            _hosted.Add(service);
            if (service is NestServer server)
            {
                await server.Started.WaitAsync(TimeSpan.FromSeconds(30));
            }
        }
    }

    public async Task StopAsync()
    {
        for (var i = _hosted.Count - 1; i >= 0; i--)
        {
            await _hosted[i].StopAsync(CancellationToken.None);
        }

        _hosted.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_queues.Count > 0)
        {
            await DeleteQueuesAsync(RabbitMqBroker.Url, _queues);
        }

        await Services.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // SQLite's files may still be closing.
        }
    }

    public static async Task DeleteQueuesAsync(string url, IEnumerable<string> queues)
    {
        try
        {
            await using var connection = await new ConnectionFactory { Uri = new Uri(url) }.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            foreach (var queue in queues)
            {
                await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
            }
        }
        catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.BrokerUnreachableException or IOException)
        {
            // Nothing to clean on a broker that is gone.
        }
    }
}
