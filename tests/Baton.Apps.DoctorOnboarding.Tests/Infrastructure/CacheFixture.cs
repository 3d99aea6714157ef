using Baton.Apps.DoctorOnboarding.Cache;
using Baton.Apps.DoctorOnboarding.Composition;
using Baton.Simulators.DoctorServices;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.DoctorOnboarding.Tests.Infrastructure;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RedisCollection : ICollectionFixture<RedisCollectionFixture>
{
    public const string Name = "redis database 9";
}

/// <summary>Starts the collection's private redis-server (<see cref="TestRedis"/>) before its first test and kills it after its last.</summary>
public sealed class RedisCollectionFixture : IAsyncLifetime
{
    private PrivateRedis? _redis;

    public async Task InitializeAsync()
    {
        _redis = await PrivateRedis.StartAsync();
        TestRedis.Use(_redis);
    }

    public async Task DisposeAsync()
    {
        TestRedis.Use(null);
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }
}

/// <summary>The composite reader and the cache over a Redis, with the simulators called in-process and the cache's logs captured.</summary>
internal sealed class CacheRig : IAsyncDisposable
{
    private readonly ILoggerFactory _logs;

    public CacheRig(string redisUrl)
    {
        Logs = new CapturingLoggerProvider();
        _logs = LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Debug));
        Options = new DoctorOptions { RedisUrl = redisUrl };
        Cache = new CompositeCache(Options, _logs.CreateLogger<CompositeCache>());
        Reader = new CompositeReader(new DirectDoctorServices(Simulator), Cache, Options, _logs.CreateLogger<CompositeReader>());
        Invalidation = new CacheInvalidation(Cache, _logs.CreateLogger<CacheInvalidation>());
    }

    public CapturingLoggerProvider Logs { get; }

    public DoctorOptions Options { get; }

    public DoctorServicesSimulator Simulator { get; } = new();

    public CompositeCache Cache { get; }

    public CompositeReader Reader { get; }

    public CacheInvalidation Invalidation { get; }

    /// <summary>A doctor made directly in the simulators (account + profile); returns the account id.</summary>
    public async Task<string> AddDoctorAsync(string name)
    {
        var account = await Simulator.HandleAsync("doctor-accounts.create", System.Text.Json.JsonSerializer.SerializeToElement(new
        {
            email = $"{name.ToLowerInvariant().Replace(' ', '.')}-{Guid.NewGuid():N}@example.org", password = "secret-123", fullName = name, dob = "1980-02-03",
        }));
        var id = account!["id"]!.GetValue<string>();
        await Simulator.HandleAsync("doctor-profile.createEmpty", System.Text.Json.JsonSerializer.SerializeToElement(new { staffAccountId = id, degree = "MD" }));
        return id;
    }

    public async ValueTask DisposeAsync()
    {
        await Cache.DisposeAsync();
        _logs.Dispose();
        Logs.Dispose();
    }
}
