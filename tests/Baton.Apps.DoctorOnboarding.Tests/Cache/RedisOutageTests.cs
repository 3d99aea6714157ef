using System.Text.Json;
using Baton.Apps.DoctorOnboarding.Tests.Infrastructure;

namespace Baton.Apps.DoctorOnboarding.Tests.Cache;

public sealed class RedisOutageTests
{
    [Fact]
    public async Task Ping_RedisKilledThenBack_DownAtOnceAndUpAgainWithoutAnyRead()
    {
        // What orchestrator.health.check asks. Before, it read the state the last cache call left: "up" while Redis was
        // down until a read failed, "down" after it came back until a read succeeded.
        await using var redis = await PrivateRedis.StartAsync();
        await using var rig = new CacheRig(redis.Url);
        Assert.True(await rig.Cache.PingAsync());

        redis.Kill();
        Assert.False(await rig.Cache.PingAsync());
        Assert.True(rig.Cache.IsDown);

        await redis.StartAgainAsync();
        await Poll.UntilAsync(() => rig.Cache.PingAsync(), up => up, "a PING answered after Redis came back", interval: TimeSpan.FromMilliseconds(200));
        Assert.False(rig.Cache.IsDown);
        Assert.Empty(rig.Simulator.State.Calls);
    }

    [Fact]
    public async Task RedisRestart_ReadsKeepWorkingUncachedAndLogOnce()
    {
        await using var redis = await PrivateRedis.StartAsync();
        await using var rig = new CacheRig(redis.Url);
        var id = await rig.AddDoctorAsync("Margaret Hamilton");
        var query = JsonSerializer.SerializeToElement(new { id });
        await rig.Reader.GetCompositeAsync(query);
        Assert.True((await rig.Reader.GetCompositeAsync(query)).GetProperty("cache").GetProperty("hit").GetBoolean());

        redis.Kill();
        var duringOutage = new List<JsonElement>();
        for (var i = 0; i < 5; i++)
        {
            duringOutage.Add(await rig.Reader.GetCompositeAsync(query));
        }

        Assert.All(duringOutage, r => Assert.False(r.GetProperty("cache").GetProperty("hit").GetBoolean()));
        Assert.All(duringOutage, r => Assert.Equal("Margaret Hamilton", r.GetProperty("fullName").GetString()));
        Assert.Equal(6, rig.Simulator.State.Calls.Count(c => c == "doctor-accounts.findOne"));
        Assert.Single(rig.Logs.Entries, e => e.EventId == 4401);

        await redis.StartAgainAsync();
        await Poll.UntilAsync(async () => (await rig.Reader.GetCompositeAsync(query)).GetProperty("cache").GetProperty("hit").GetBoolean(), hit => hit, "a cached read after Redis came back", interval: TimeSpan.FromMilliseconds(200));
        Assert.Single(rig.Logs.Entries, e => e.EventId == 4402);
        Assert.Single(rig.Logs.Entries, e => e.EventId == 4401);
    }
}
