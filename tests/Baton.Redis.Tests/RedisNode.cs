using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Baton.Hosting;
using Baton.Runs;
using Baton.Storage;
using Baton.Storage.Sqlite;
using Baton.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Baton.Redis.Tests;

/// <summary>
/// One Baton node in-process on a real SQLite file with one Redis list trigger, plus a test connection to the same
/// Redis. The default workflow "record" records each run's input; the trigger's keys live under a unique prefix.
/// </summary>
internal sealed class RedisNode : IAsyncDisposable
{
    private readonly string _databasePath = Path.Combine(Path.GetTempPath(), $"baton-redis-test-{Guid.NewGuid():N}.db");
    private List<IHostedService> _hosted = [];
    private bool _stopped;
    private Func<Task>? _restart;

    private RedisNode(string redis, string prefix, ConnectionMultiplexer connection, string consumerId)
    {
        ConsumerId = consumerId;
        RedisConfiguration = redis;
        Prefix = prefix;
        Connection = connection;
    }

    /// <summary>What the node's AddRedis connects with; the test's own connection (<see cref="Db"/>) keeps the one it was created with.</summary>
    public string RedisConfiguration { get; set; }

    /// <summary>Unique per test: the trigger's key prefix and the prefix of every list the test uses.</summary>
    public string Prefix { get; }

    public ConnectionMultiplexer Connection { get; }

    public IDatabase Db => Connection.GetDatabase();

    /// <summary>The port of the Redis the test's connection reaches (for a relay put in front of it).</summary>
    public int RedisPort => Connection.GetEndPoints()[0] switch
    {
        IPEndPoint ip => ip.Port,
        DnsEndPoint dns => dns.Port,
        var other => throw new InvalidOperationException($"the test's Redis endpoint {other} has no port"),
    };

    public string List => Prefix + "items";

    /// <summary>The trigger's name, unique per node: its metrics' <c>trigger</c> tag tells them apart from other tests' running at once.</summary>
    public string TriggerName => "items-" + Prefix;

    public string ConsumerId { get; }

    public string ProcessingList => $"{Prefix}processing:{ConsumerId}:{List}";

    public ServiceProvider Services { get; private set; } = null!;

    public CapturingLoggerProvider Logs { get; } = new();

    /// <summary>Inputs of every execution of "record" (a run executed twice would show twice).</summary>
    public ConcurrentQueue<string> Executed { get; } = new();

    public IBatonStore Store => Services.GetRequiredService<IBatonStore>();

    public static async Task<RedisNode> CreateAsync(string? redis = null) => await CreateAsync(redis, SharedRedis.NewPrefix(), "node-a");

    /// <summary>A node with its own database and consumer id on the keys of <paramref name="prefix"/> (a second node beside another).</summary>
    public static async Task<RedisNode> CreateAsync(string? redis, string prefix, string consumerId)
    {
        redis ??= SharedRedis.Configuration;
        return new RedisNode(redis, prefix, await ConnectAsync(redis), consumerId);
    }

    /// <summary>A test connection to <paramref name="redis"/> that answered PING; an unreachable shared Redis fails with how to start one.</summary>
    public static async Task<ConnectionMultiplexer> ConnectAsync(string? redis = null)
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(Redis.RedisConfiguration.Parse(redis ?? SharedRedis.Configuration));
        try
        {
            await connection.GetDatabase().PingAsync();
            return connection;
        }
        catch (Exception ex) when (ex is RedisConnectionException or RedisTimeoutException)
        {
            await connection.DisposeAsync();
            throw new InvalidOperationException(SharedRedis.Unreachable(ex), ex);
        }
    }

    /// <summary>Builds the node (AddRedis + AddRedisListTrigger <see cref="TriggerName"/> on <see cref="List"/>) and starts its hosted services.</summary>
    public async Task StartAsync(
        Action<RedisListTriggerOptions>? configure = null,
        Action<BatonBuilder>? workflows = null,
        TimeProvider? time = null,
        TimeSpan? inboxPace = null,
        int? inboxHoldAfter = null)
    {
        _restart = () => StartAsync(configure, workflows, time, inboxPace, inboxHoldAfter);
        _stopped = false;
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddProvider(Logs).SetMinimumLevel(LogLevel.Debug));
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        var builder = services.AddBaton(o =>
        {
            o.NodeId = ConsumerId;
            o.PollInterval = TimeSpan.FromMilliseconds(100);
            o.RunScheduler = false;
        }).UseSqlite(o => o.Path = _databasePath);
        if (workflows is null)
        {
            builder.AddWorkflow<JsonElement, string>("record", (ctx, input, ct) =>
            {
                Executed.Enqueue(input.GetRawText());
                return Task.FromResult("ok");
            });
        }
        else
        {
            workflows(builder);
        }

        builder.AddRedis(RedisConfiguration).AddRedisListTrigger(TriggerName, o =>
        {
            o.Lists.Add(List);
            o.Workflow = "record";
            o.KeyPrefix = Prefix;
            configure?.Invoke(o);
        });
        if (inboxPace is not null || inboxHoldAfter is not null)
        {
            PacedInbox.Replace(services, inboxPace ?? TimeSpan.Zero, inboxHoldAfter ?? int.MaxValue);
        }

        Services = services.BuildServiceProvider();
        _hosted = [.. Services.GetServices<IHostedService>()];
        foreach (var hosted in _hosted)
        {
            await hosted.StartAsync(CancellationToken.None);
        }
    }

    /// <summary>The list trigger's own task (it fails when the trigger stops the host).</summary>
    public Task TriggerTask => _hosted.OfType<RedisListTrigger>().Single().ExecuteTask!;

    /// <summary>This node's heartbeat key.</summary>
    public string HeartbeatKey => $"{Prefix}consumer:{ConsumerId}";

    public Task<IReadOnlyList<RunRecord>> RunsAsync() => AllRunsAsync(Store);

    /// <summary>Every run of <paramref name="store"/>, page by page.</summary>
    public static async Task<IReadOnlyList<RunRecord>> AllRunsAsync(IBatonStore store)
    {
        var runs = new List<RunRecord>();
        string? cursor = null;
        do
        {
            var page = await store.Runs.ListRunsAsync(new ListRunsRequest { Limit = 500, Cursor = cursor });
            runs.AddRange(page.Runs);
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        return runs;
    }

    /// <summary>Waits until <paramref name="count"/> runs exist and all of them succeeded.</summary>
    public Task<IReadOnlyList<RunRecord>> WaitForSucceededRunsAsync(int count, TimeSpan? timeout = null) =>
        Poll.UntilAsync(
            RunsAsync,
            runs => runs.Count >= count && runs.All(r => r.Status == RunStatus.Succeeded),
            $"{count} succeeded runs",
            timeout ?? TimeSpan.FromSeconds(30));

    /// <summary>Sums the measurements of the Baton.Redis counter <paramref name="instrument"/> tagged with this node's trigger, from now on.</summary>
    public MeterListener Count(string instrument, Action<long> add)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (published, l) =>
            {
                if (published.Meter.Name == "Baton.Redis" && published.Name == instrument)
                {
                    l.EnableMeasurementEvents(published);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "trigger" && (string?)tag.Value == TriggerName)
                {
                    add(value);
                }
            }
        });
        listener.Start();
        return listener;
    }

    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        for (var i = _hosted.Count - 1; i >= 0; i--)
        {
            await _hosted[i].StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Stops the node and starts a new one on the same database, Redis and options (a process restart).</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await Services.DisposeAsync();
        await _restart!();
    }

    public async ValueTask DisposeAsync()
    {
        if (Services is not null)
        {
            await StopAsync();
            await Services.DisposeAsync();
        }

        try
        {
            var server = Connection.GetServers().FirstOrDefault(s => s.IsConnected);
            if (server is not null)
            {
                var keys = new List<RedisKey>();
                await foreach (var key in server.KeysAsync(pattern: Prefix + "*"))
                {
                    keys.Add(key);
                }

                if (keys.Count > 0)
                {
                    await Db.KeyDeleteAsync([.. keys]);
                }
            }
        }
        catch (RedisException)
        {
            // A private server already gone: nothing to clean.
        }

        await Connection.DisposeAsync();
        foreach (var suffix in new[] { "", "-wal", "-shm", ".lock" })
        {
            File.Delete(_databasePath + suffix);
        }
    }
}
