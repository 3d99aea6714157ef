using System.Text.Json;
using Baton.Apps.DoctorOnboarding.Cache;
using Baton.Apps.DoctorOnboarding.Composition;
using Baton.Apps.DoctorOnboarding.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Baton.Apps.DoctorOnboarding.Tests.Cache;

[Collection(RedisCollection.Name)]
public sealed class CompositeCacheTests : IAsyncLifetime
{
    private ConnectionMultiplexer _redis = null!;
    private CacheRig _rig = null!;

    private IDatabase Db => _redis.GetDatabase(TestRedis.Database);

    public async Task InitializeAsync()
    {
        _redis = await TestRedis.ConnectAsync();
        await Db.ExecuteAsync("FLUSHDB");
        _rig = new CacheRig(TestRedis.Url);
    }

    public async Task DisposeAsync()
    {
        await Db.ExecuteAsync("FLUSHDB");
        await _rig.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task GetComposite_SecondRead_HitWithKeysRemainingTtl()
    {
        var id = await _rig.AddDoctorAsync("Grace Hopper");
        var query = JsonSerializer.SerializeToElement(new { id });

        var first = await _rig.Reader.GetCompositeAsync(query);
        await Db.KeyExpireAsync(CacheKeys.Single(id), TimeSpan.FromSeconds(42));
        var second = await _rig.Reader.GetCompositeAsync(query);

        Assert.False(first.GetProperty("cache").GetProperty("hit").GetBoolean());
        Assert.Equal(300, first.GetProperty("cache").GetProperty("ttl").GetInt32());
        Assert.True(second.GetProperty("cache").GetProperty("hit").GetBoolean());
        Assert.Equal(42, second.GetProperty("cache").GetProperty("ttl").GetInt32());
        Assert.Equal("Grace Hopper", second.GetProperty("fullName").GetString());
        Assert.Equal("1980-02-03", second.GetProperty("dob").GetString());
        Assert.Equal(id, second.GetProperty("accountId").GetString());
        Assert.Equal("MD", second.GetProperty("degree").GetString());
        Assert.Equal(1, _rig.Simulator.State.Calls.Count(c => c == "doctor-accounts.findOne"));
        Assert.Equal(1, _rig.Simulator.State.Calls.Count(c => c == "doctor-profile.getByAccountId"));
    }

    [Fact]
    public async Task GetComposite_HitAndMiss_CountedOnTheBatonMeter()
    {
        var id = await _rig.AddDoctorAsync("Radia Perlman");
        var counts = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == Baton.Hosting.BatonMetrics.MeterName && instrument.Name.StartsWith("doctor.cache.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => counts.AddOrUpdate(instrument.Name, value, (_, old) => old + value));
        listener.Start();
        var query = JsonSerializer.SerializeToElement(new { id });

        await _rig.Reader.GetCompositeAsync(query);
        await _rig.Reader.GetCompositeAsync(query);
        await _rig.Reader.GetCompositeAsync(query);

        Assert.True(counts.GetValueOrDefault("doctor.cache.misses") >= 1);
        Assert.True(counts.GetValueOrDefault("doctor.cache.hits") >= 2);
    }

    [Fact]
    public async Task Cache_ThreeReadsOfOneDoctor_DashboardViewCountsOneMissTwoHits()
    {
        var id = await _rig.AddDoctorAsync("Frances Allen");
        var query = JsonSerializer.SerializeToElement(new { id });

        for (var i = 0; i < 3; i++)
        {
            await _rig.Reader.GetCompositeAsync(query);
        }

        Assert.Equal(new Baton.Server.Views.DoctorCacheView(2, 1, false), new DoctorDashboardView(_rig.Cache).Cache());
    }

    [Fact]
    public async Task GetComposite_Miss_StoresWithSingleTtl()
    {
        var id = await _rig.AddDoctorAsync("Katherine Johnson");

        await _rig.Reader.GetCompositeAsync(JsonSerializer.SerializeToElement(new { id }));

        var ttl = await Db.KeyTimeToLiveAsync(CacheKeys.Single(id));
        Assert.InRange(ttl!.Value.TotalSeconds, 295, 300);
    }

    [Fact]
    public async Task SearchComposite_SameQueryOtherKeyOrder_HitsOneListKeyWithListTtl()
    {
        await _rig.AddDoctorAsync("Ada Lovelace");
        await _rig.AddDoctorAsync("Alan Turing");

        var first = await _rig.Reader.SearchCompositeAsync(JsonDocument.Parse("""{"page":1,"limit":10}""").RootElement);
        var second = await _rig.Reader.SearchCompositeAsync(JsonDocument.Parse("""{"limit":10,"page":1}""").RootElement);

        Assert.False(first.GetProperty("cache").GetProperty("hit").GetBoolean());
        Assert.Equal(120, first.GetProperty("cache").GetProperty("ttl").GetInt32());
        Assert.True(second.GetProperty("cache").GetProperty("hit").GetBoolean());
        Assert.InRange(second.GetProperty("cache").GetProperty("ttl").GetInt32(), 115, 120);
        Assert.Equal(2, second.GetProperty("data").GetArrayLength());
        Assert.All(second.GetProperty("data").EnumerateArray(), d => Assert.False(string.IsNullOrEmpty(d.GetProperty("fullName").GetString())));
        Assert.Equal(2, second.GetProperty("meta").GetProperty("total").GetInt32());
        var server = _redis.GetServer(_redis.GetEndPoints()[0]);
        var keys = server.Keys(TestRedis.Database, CacheKeys.AllLists).ToList();
        Assert.Single(keys);
        Assert.Matches("^doctor:composite:list:[0-9a-f]{32}$", keys[0].ToString());
    }

    [Fact]
    public async Task ListComposite_Miss_MergesAccountsWithTheirProfiles()
    {
        var id = await _rig.AddDoctorAsync("Barbara Liskov");

        var list = await _rig.Reader.ListCompositeAsync(JsonSerializer.SerializeToElement(new { page = 1, limit = 5 }));

        var item = Assert.Single(list.GetProperty("data").EnumerateArray());
        Assert.Equal(id, item.GetProperty("accountId").GetString());
        Assert.Equal("MD", item.GetProperty("degree").GetString());
        Assert.Equal("Barbara Liskov", item.GetProperty("fullName").GetString());
        Assert.False(list.GetProperty("cache").GetProperty("hit").GetBoolean());
    }

    [Theory]
    [InlineData("doctor.profile.created")]
    [InlineData("doctor.profile.updated")]
    [InlineData("doctor.profile.deleted")]
    [InlineData("staff.account.created")]
    [InlineData("staff.account.updated")]
    [InlineData("staff.account.deleted")]
    public async Task Event_Invalidating_DropsDoctorsKeyAndEveryListKeyOnly(string pattern)
    {
        var id = await _rig.AddDoctorAsync("Edsger Dijkstra");
        var other = await _rig.AddDoctorAsync("Tony Hoare");
        await _rig.Reader.GetCompositeAsync(JsonSerializer.SerializeToElement(new { id }));
        await _rig.Reader.GetCompositeAsync(JsonSerializer.SerializeToElement(new { id = other }));
        await _rig.Reader.SearchCompositeAsync(JsonSerializer.SerializeToElement(new { page = 1 }));
        await _rig.Reader.ListCompositeAsync(JsonSerializer.SerializeToElement(new { page = 1 }));
        var data = pattern.StartsWith("staff.", StringComparison.Ordinal)
            ? JsonSerializer.SerializeToElement(new { id })
            : JsonSerializer.SerializeToElement(new { id = "profile-1", staffAccountId = id });

        var removed = await _rig.Invalidation.OnEventAsync(pattern, data);

        Assert.Equal(3, removed);
        Assert.False(await Db.KeyExistsAsync(CacheKeys.Single(id)));
        Assert.True(await Db.KeyExistsAsync(CacheKeys.Single(other)));
        var again = await _rig.Reader.GetCompositeAsync(JsonSerializer.SerializeToElement(new { id }));
        Assert.False(again.GetProperty("cache").GetProperty("hit").GetBoolean());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Event_NamingTheGuidInAnotherCaseThanTheRead_DropsTheDoctorsKey(bool readInUpperCase)
    {
        // Before: the read cached under the id as typed (doctor:composite:ABC...), the event dropped doctor:composite:abc...,
        // and the next read was the old composite, a hit, for the key's whole TTL (300 s).
        var id = await _rig.AddDoctorAsync("Margaret Hamilton");
        var reader = new CompositeReader(
            new UuidServices(new DirectDoctorServices(_rig.Simulator)), _rig.Cache, _rig.Options, NullLogger<CompositeReader>.Instance);
        var (typed, named) = readInUpperCase ? (id.ToUpperInvariant(), id) : (id, id.ToUpperInvariant());
        var query = JsonSerializer.SerializeToElement(new { id = typed });
        await reader.GetCompositeAsync(query);
        var server = _redis.GetServer(_redis.GetEndPoints()[0]);
        var cached = server.Keys(TestRedis.Database, CacheKeys.All).Select(k => k.ToString()).ToList();

        await _rig.Invalidation.OnEventAsync("staff.account.updated", JsonSerializer.SerializeToElement(new { id = named }));
        var again = await reader.GetCompositeAsync(query);

        Assert.False(again.GetProperty("cache").GetProperty("hit").GetBoolean());
        Assert.Equal([CacheKeys.Prefix + id], cached);
    }

    [Fact]
    public async Task RemoveListsAsync_FiftyAtOnce_ShareScansAndDropEveryListKey()
    {
        for (var i = 0; i < 20; i++)
        {
            await Db.StringSetAsync($"{CacheKeys.ListPrefix}{i:x32}", "{}", TimeSpan.FromMinutes(2));
        }

        await Db.StringSetAsync(CacheKeys.Single("keep-me"), "{}", TimeSpan.FromMinutes(5));
        var scansBefore = _rig.Cache.ListScans;

        var removed = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => _rig.Cache.RemoveListsAsync()));

        var scans = _rig.Cache.ListScans - scansBefore;
        Assert.InRange(scans, 1, 49);
        Assert.Equal(20, removed.Max());
        var server = _redis.GetServer(_redis.GetEndPoints()[0]);
        Assert.Empty(server.Keys(TestRedis.Database, CacheKeys.AllLists));
        Assert.True(await Db.KeyExistsAsync(CacheKeys.Single("keep-me")));
    }

    [Fact]
    public async Task InvalidatePattern_TenThousandListKeys_DropsThemAllBySCAN()
    {
        var batch = Db.CreateBatch();
        var writes = new List<Task>();
        for (var i = 0; i < 10_000; i++)
        {
            writes.Add(batch.StringSetAsync($"{CacheKeys.ListPrefix}{i:x32}", "{}", TimeSpan.FromMinutes(2)));
        }

        writes.Add(batch.StringSetAsync(CacheKeys.Single("keep-me"), "{}", TimeSpan.FromMinutes(5)));
        batch.Execute();
        await Task.WhenAll(writes);
        var commandsBefore = await CommandCallsAsync();

        var removed = await _rig.Invalidation.InvalidateAsync(JsonSerializer.SerializeToElement(new { }));

        Assert.Equal(10_000, removed);
        var server = _redis.GetServer(_redis.GetEndPoints()[0]);
        Assert.Empty(server.Keys(TestRedis.Database, CacheKeys.AllLists));
        Assert.True(await Db.KeyExistsAsync(CacheKeys.Single("keep-me")));
        var commandsAfter = await CommandCallsAsync();
        Assert.Equal(commandsBefore.GetValueOrDefault("keys"), commandsAfter.GetValueOrDefault("keys"));
        Assert.True(commandsAfter.GetValueOrDefault("scan") > commandsBefore.GetValueOrDefault("scan"));
    }

    [Fact]
    public async Task GetComposite_InvalidatedWhileItLoads_WhatItLoadedIsAnsweredButNotCached()
    {
        // Before: the read stored what it had loaded before the update after the update's invalidation, and the next reads
        // were served the old name as hits for the key's whole TTL (300 s), across restarts.
        var id = await _rig.AddDoctorAsync("Ada Lovelace");
        var query = JsonSerializer.SerializeToElement(new { id });
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _rig.Simulator.Faults.Set("doctor-accounts.findOne", new Baton.Simulators.DoctorServices.PatternFault { ReplyHold = release.Task });

        var slow = _rig.Reader.GetCompositeAsync(query);
        await Poll.UntilAsync(() => Task.FromResult(_rig.Simulator.State.Calls.Count(c => c == "doctor-accounts.findOne")), n => n == 1, "the read to reach the accounts service");
        _rig.Simulator.Faults.Clear("doctor-accounts.findOne");
        await _rig.Simulator.HandleAsync("doctor-accounts.update", JsonSerializer.SerializeToElement(new { id, fullName = "Ada King" }), CancellationToken.None);
        await _rig.Invalidation.OnEventAsync("staff.account.updated", JsonSerializer.SerializeToElement(new { id }));
        release.SetResult();
        var stale = await slow;
        var next = await _rig.Reader.GetCompositeAsync(query);
        var third = await _rig.Reader.GetCompositeAsync(query);

        Assert.Equal("Ada Lovelace", stale.GetProperty("fullName").GetString());
        Assert.False(next.GetProperty("cache").GetProperty("hit").GetBoolean());
        Assert.Equal("Ada King", next.GetProperty("fullName").GetString());
        Assert.True(third.GetProperty("cache").GetProperty("hit").GetBoolean());
        Assert.Equal("Ada King", third.GetProperty("fullName").GetString());
    }

    [Theory]
    [InlineData("""{"a":1,}""")]
    [InlineData("[1,2]")]
    [InlineData("not json")]
    public async Task GetComposite_CachedValueNotAComposite_ReadAsAMissAndOverwritten(string value)
    {
        // Before: "Internal server error" on every read until the key expired.
        var id = await _rig.AddDoctorAsync("Grace Hopper");
        await Db.StringSetAsync(CacheKeys.Single(id), value, TimeSpan.FromSeconds(300));
        var query = JsonSerializer.SerializeToElement(new { id });

        var first = await _rig.Reader.GetCompositeAsync(query);
        var second = await _rig.Reader.GetCompositeAsync(query);

        Assert.False(first.GetProperty("cache").GetProperty("hit").GetBoolean());
        Assert.Equal("Grace Hopper", first.GetProperty("fullName").GetString());
        Assert.True(second.GetProperty("cache").GetProperty("hit").GetBoolean());
        Assert.Contains(_rig.Logs.Entries, e => e.EventId == 4413);
    }

    [Fact]
    public async Task Invalidate_IdWithGlobCharacters_RefusedAndNothingDropped()
    {
        var id = await _rig.AddDoctorAsync("Barbara Liskov");
        await _rig.Reader.SearchCompositeAsync(JsonSerializer.SerializeToElement(new { page = 1 }));

        var error = await Assert.ThrowsAsync<Baton.Apps.DoctorOnboarding.Composition.ReadRejectedException>(() => _rig.Invalidation.InvalidateAsync(JsonSerializer.SerializeToElement(new { id = "a*" })));

        Assert.Equal(400, error.Error.GetProperty("statusCode").GetInt32());
        Assert.Contains("id must not contain", error.Message, StringComparison.Ordinal);
        // The search's list key is still there.
        Assert.Single(await Db.ExecuteAsync("KEYS", CacheKeys.AllLists) is var keys ? (RedisResult[])keys! : []);
    }

    [Theory]
    [InlineData("id")]
    [InlineData("pattern")]
    public async Task Invalidate_FieldOfHalfASurrogatePair_RefusedAsValidationAndNothingDropped(string field)
    {
        // Before: reading the field threw ("Internal server error" on the wire, a handler failure logged with its stack).
        await _rig.AddDoctorAsync("Barbara Liskov");
        await _rig.Reader.SearchCompositeAsync(JsonSerializer.SerializeToElement(new { page = 1 }));

        var error = await Assert.ThrowsAsync<Baton.Apps.DoctorOnboarding.Composition.ReadRejectedException>(
            () => _rig.Invalidation.InvalidateAsync(JsonDocument.Parse($$"""{"{{field}}":"x\ud800"}""").RootElement));

        Assert.Equal(400, error.Error.GetProperty("statusCode").GetInt32());
        Assert.Contains($"{field} must be valid text (it holds half a UTF-16 surrogate pair)", error.Message, StringComparison.Ordinal);
        Assert.Single(await Db.ExecuteAsync("KEYS", CacheKeys.AllLists) is var keys ? (RedisResult[])keys! : []);
    }

    [Fact]
    public async Task Event_AccountIdOfHalfASurrogatePair_DropsEveryComposite()
    {
        // The event names a doctor no key can hold: every composite may be it. Before: the reader threw, the event was
        // dropped and nothing invalidated.
        var id = await _rig.AddDoctorAsync("Edsger Dijkstra");
        await _rig.Reader.GetCompositeAsync(JsonSerializer.SerializeToElement(new { id }));
        await _rig.Reader.SearchCompositeAsync(JsonSerializer.SerializeToElement(new { page = 1 }));

        var removed = await _rig.Invalidation.OnEventAsync("staff.account.updated", JsonDocument.Parse("""{"id":"x\ud800"}""").RootElement);

        Assert.Equal(2, removed);
        Assert.False(await Db.KeyExistsAsync(CacheKeys.Single(id)));
    }

    [Fact]
    public async Task Clear_OnRequest_DropsEveryCompositeKey()
    {
        var id = await _rig.AddDoctorAsync("Frances Allen");
        await _rig.Reader.GetCompositeAsync(JsonSerializer.SerializeToElement(new { id }));
        await _rig.Reader.SearchCompositeAsync(JsonSerializer.SerializeToElement(new { page = 1 }));
        await Db.StringSetAsync("unrelated:key", "1");

        var removed = await _rig.Invalidation.ClearAsync();

        Assert.Equal(2, removed);
        Assert.True(await Db.KeyExistsAsync("unrelated:key"));
    }

    /// <summary>Calls per command since the server started (INFO commandstats), lower-case names.</summary>
    private async Task<Dictionary<string, long>> CommandCallsAsync()
    {
        var server = _redis.GetServer(_redis.GetEndPoints()[0]);
        var info = await server.InfoAsync("commandstats");
        return info.SelectMany(g => g).ToDictionary(
            p => p.Key.Replace("cmdstat_", "", StringComparison.Ordinal),
            p => long.Parse(p.Value.Split(',')[0].Split('=')[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Services that keep ids as <c>uuid</c> (a PostgreSQL column), so a GUID finds its entity in any case: the
    /// simulators match ids as typed.
    /// </summary>
    private sealed class UuidServices(IDoctorServices services) : IDoctorServices
    {
        public Task<JsonElement?> SendAsync(DoctorService service, string pattern, object? data, TimeSpan timeout, CancellationToken cancellationToken = default)
        {
            var request = JsonSerializer.SerializeToNode(data)!.AsObject();
            foreach (var field in new[] { "id", "accountId" })
            {
                if (request[field]?.GetValue<string>() is { } id && Guid.TryParse(id, out var guid))
                {
                    request[field] = guid.ToString();
                }
            }

            return services.SendAsync(service, pattern, request, timeout, cancellationToken);
        }
    }
}
