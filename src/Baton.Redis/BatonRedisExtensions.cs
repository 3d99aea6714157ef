using System.Diagnostics.Metrics;
using Baton.Hosting;
using Baton.Inbox;
using Baton.Nodes;
using Baton.Workflows;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Baton.Redis;

public static class BatonRedisExtensions
{
    /// <summary>
    /// Registers one shared Redis connection (<see cref="IRedisConnection"/>), connected on first use, never aborting
    /// on a failed connection and reconnecting by itself. <paramref name="configuration"/> is a URL
    /// (<c>redis://[:password@]host[:port][/db]</c>, <c>rediss://</c> for TLS) or StackExchange's form
    /// (<c>host:port,password=...</c>). The password never appears in logs or errors. The first call wins.
    /// </summary>
    /// <exception cref="ArgumentException">The configuration is not valid (the message holds no password).</exception>
    public static BatonBuilder AddRedis(this BatonBuilder baton, string configuration)
    {
        ArgumentNullException.ThrowIfNull(baton);
        var options = RedisConfiguration.Parse(configuration);
        baton.Services.TryAddSingleton<IRedisConnection>(sp => new RedisConnection(
            options, sp.GetService<ILoggerFactory>()?.CreateLogger<RedisConnection>() ?? NullLogger<RedisConnection>.Instance));
        baton.Services.TryAddSingleton(sp => new RedisListMetrics(sp.GetService<IMeterFactory>()));
        return baton;
    }

    /// <summary>
    /// Adds a reliable list trigger named <paramref name="name"/> (needs <see cref="AddRedis"/>): items move atomically
    /// to this consumer's processing list, become inbox messages, and leave the processing list only once their runs
    /// are stored or they are dead-lettered. Several triggers may be added under different names. The options are a keyed
    /// service under <paramref name="name"/>, for code that must agree with the trigger
    /// (<see cref="RedisListTriggerOptions.ConsumerIdOf"/>, <see cref="RedisListTriggerOptions.ProcessingListKey"/>).
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range, or neither a mapper nor a workflow is set.</exception>
    public static BatonBuilder AddRedisListTrigger(this BatonBuilder baton, string name, Action<RedisListTriggerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(baton);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new RedisListTriggerOptions();
        configure(options);
        Validate(name, options);
        baton.Services.TryAddSingleton(sp => new RedisListMetrics(sp.GetService<IMeterFactory>()));
        // By name, for code that must agree with the trigger (its consumer id, its processing lists).
        baton.Services.AddKeyedSingleton(name, options);
        baton.Services.AddSingleton<IHostedService>(sp =>
        {
            var redis = sp.GetService<IRedisConnection>()
                ?? throw new InvalidOperationException($"Redis list trigger '{name}' needs a Redis connection: call AddRedis(...) on the Baton builder.");
            if (options.Map is null && !sp.GetRequiredService<IWorkflowCatalog>().TryGet(options.Workflow!, out _))
            {
                throw new InvalidOperationException($"Redis list trigger '{name}' starts workflow '{options.Workflow}', which is not registered.");
            }

            return new RedisListTrigger(
                name,
                options,
                () => options.ConsumerIdOf(sp.GetRequiredService<IBatonNodes>()),
                redis,
                sp.GetRequiredService<IBatonInbox>(),
                sp.GetService<TimeProvider>() ?? TimeProvider.System,
                sp.GetRequiredService<RedisListMetrics>(),
                sp.GetService<ILoggerFactory>()?.CreateLogger<RedisListTrigger>() ?? NullLogger<RedisListTrigger>.Instance);
        });
        return baton;
    }

    private static void Validate(string name, RedisListTriggerOptions options)
    {
        var errors = new List<string>();
        if (options.BatchSize is < 1 or > InboxLimits.MaxBatchSize)
        {
            errors.Add($"BatchSize must be 1 to {InboxLimits.MaxBatchSize}");
        }

        if (options.MaxItemBytes < 0)
        {
            errors.Add("MaxItemBytes must be 0 (no limit) or more");
        }

        if (options.MaxConcurrentLists < 1)
        {
            errors.Add("MaxConcurrentLists must be at least 1");
        }

        if (options.Map is null && string.IsNullOrWhiteSpace(options.Workflow))
        {
            errors.Add("set Workflow (for the default mapper) or Map");
        }

        if (options.Lists.Count == 0 && options.DiscoverLists is null)
        {
            errors.Add("set Lists or DiscoverLists");
        }

        foreach (var (setting, value) in new[]
                 {
                     ("DiscoveryInterval", options.DiscoveryInterval), ("MaxIdleDelay", options.MaxIdleDelay), ("ConflictDelay", options.ConflictDelay),
                     ("MaxErrorDelay", options.MaxErrorDelay), ("HeartbeatInterval", options.HeartbeatInterval), ("ConsumerTimeout", options.ConsumerTimeout),
                 })
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"{setting} must be positive");
            }
        }

        if (options.ConsumerTimeout <= options.HeartbeatInterval)
        {
            errors.Add("ConsumerTimeout must be longer than HeartbeatInterval");
        }

        if (string.IsNullOrEmpty(options.KeyPrefix) || options.ConsumerId is { Length: 0 } || options.DeadLetterKey is null)
        {
            errors.Add("KeyPrefix, ConsumerId (when set) and DeadLetterKey must not be empty");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException($"Redis list trigger '{name}': {string.Join("; ", errors)}.", nameof(options));
        }
    }
}
