using System.Diagnostics.Metrics;
using Baton.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Baton.Apps.DoctorOnboarding.Cache;

/// <summary>A cached composite as UTF-8 JSON (as stored) and the key's remaining time to live in whole seconds.</summary>
public sealed record CachedComposite(byte[] Json, int TtlSeconds);

/// <summary>
/// The composite cache on Redis (StackExchange.Redis, one multiplexer). Every call is best effort: while Redis cannot be
/// reached a read is a miss, a write or an invalidation is skipped, and one warning is logged when the outage starts and
/// one line when Redis answers again (never one per request). Commands fail fast instead of queueing while disconnected,
/// so a Redis outage costs reads nothing but the cache. Hits and misses count on the <c>Baton</c> meter
/// (<c>doctor.cache.hits</c>, <c>doctor.cache.misses</c>, tag <c>read</c>).
/// </summary>
public sealed class CompositeCache : IAsyncDisposable
{
    private const int ScanPageSize = 1000;

    private readonly ILogger _logger;
    private readonly Lazy<Task<ConnectionMultiplexer?>> _connection;
    private readonly Counter<long> _hits;
    private readonly Counter<long> _misses;
    private readonly Lock _listsGate = new();
    private readonly List<TaskCompletionSource<long>> _listWaiters = [];
    private Task? _listScanner;
    private int _down;
    private long _listScans;
    private long _hitCount;
    private long _missCount;

    public CompositeCache(DoctorOptions options, ILogger<CompositeCache> logger, IMeterFactory? meters = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _logger = logger;
        var meter = meters?.Create(BatonMetrics.MeterName) ?? new Meter(BatonMetrics.MeterName);
        _hits = meter.CreateCounter<long>("doctor.cache.hits", description: "Composite reads answered from Redis.");
        _misses = meter.CreateCounter<long>("doctor.cache.misses", description: "Composite reads that went to the services.");
        _connection = new Lazy<Task<ConnectionMultiplexer?>>(() => ConnectAsync(options.RedisUrl));
    }

    /// <summary>Whether the last Redis call failed (reads go straight to the services).</summary>
    public bool IsDown => Volatile.Read(ref _down) == 1;

    /// <summary>Reads answered from Redis since this cache was created.</summary>
    public long Hits => Interlocked.Read(ref _hitCount);

    /// <summary>Reads that missed (or found Redis down) since this cache was created.</summary>
    public long Misses => Interlocked.Read(ref _missCount);

    /// <summary>The cached value and its remaining TTL (GET and PTTL in one round trip), or null on a miss or when Redis is down.</summary>
    public async Task<CachedComposite?> GetAsync(string key, string read)
    {
        var hit = await TryAsync(async db =>
        {
            var value = await db.StringGetWithExpiryAsync(key).ConfigureAwait(false);
            return value.Value.IsNull
                ? null
                : new CachedComposite((byte[])value.Value!, value.Expiry is { } ttl ? (int)Math.Ceiling(ttl.TotalSeconds) : -1);
        }).ConfigureAwait(false);
        (hit is null ? _misses : _hits).Add(1, new KeyValuePair<string, object?>("read", read));
        Interlocked.Increment(ref hit is null ? ref _missCount : ref _hitCount);
        return hit;
    }

    /// <summary>
    /// The invalidation epoch: a counter every invalidation increments before it drops keys (outside the seed's
    /// <c>doctor:composite:</c> keys, so no pattern removal drops it). A read notes it before loading and stores what it
    /// loaded only if no invalidation came in between (<see cref="SetIfUnchangedAsync"/>): otherwise a read that loaded the
    /// old data before an update and stored it after the update's invalidation would serve it for the key's whole TTL.
    /// </summary>
    public const string EpochKey = "baton:doctor:cache-epoch";

    // Stores the value only while the epoch is the one the read noted (a missing epoch counts as 0).
    private const string SetIfUnchanged = """
        if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[3] then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
        return 1
        """;

    // Moves the epoch on and drops one key, in one step.
    private const string InvalidateKey = """
        redis.call('INCR', KEYS[2])
        return redis.call('UNLINK', KEYS[1])
        """;

    /// <summary>The epoch to pass to <see cref="SetIfUnchangedAsync"/>, or null while Redis is down (then nothing is stored).</summary>
    public Task<string?> EpochAsync() =>
        TryAsync(async db => (string?)(await db.StringGetAsync(EpochKey).ConfigureAwait(false)) ?? "0");

    /// <summary>
    /// Stores <paramref name="json"/> under <paramref name="key"/> for <paramref name="ttlSeconds"/> (SET EX) unless an
    /// invalidation came after <paramref name="epoch"/> was read; returns whether it was stored (false while Redis is down).
    /// </summary>
    public async Task<bool> SetIfUnchangedAsync(string key, string json, int ttlSeconds, string epoch) =>
        await TryAsync(async db => (long)await db.ScriptEvaluateAsync(SetIfUnchanged, [key, EpochKey], [json, ttlSeconds, epoch]).ConfigureAwait(false) == 1)
            .ConfigureAwait(false);

    /// <summary>Drops one key (UNLINK), moving the invalidation epoch on first.</summary>
    public Task<long> RemoveAsync(string key) =>
        TryAsync(async db => (long)await db.ScriptEvaluateAsync(InvalidateKey, [key, EpochKey]).ConfigureAwait(false));

    /// <summary>Whether Redis answers a PING now (for the health check; also updates <see cref="IsDown"/>).</summary>
    public async Task<bool> PingAsync() =>
        await TryAsync(async db => { await db.PingAsync().ConfigureAwait(false); return true; }).ConfigureAwait(false);

    /// <summary>
    /// Drops every key matching the glob <paramref name="pattern"/>: SCAN pages of <see cref="ScanPageSize"/> and one UNLINK per
    /// page, never KEYS (which blocks Redis for the whole keyspace). Returns how many keys were dropped (0 while Redis is down).
    /// </summary>
    public Task<long> RemovePatternAsync(string pattern) => TryAsync(async db =>
    {
        // The epoch first: a read that loaded before this call cannot store after it (see EpochKey).
        await db.StringIncrementAsync(EpochKey).ConfigureAwait(false);
        long removed = 0;
        var cursor = "0";
        do
        {
            var page = (RedisResult[])(await db.ExecuteAsync("SCAN", cursor, "MATCH", pattern, "COUNT", ScanPageSize).ConfigureAwait(false))!;
            cursor = page[0].ToString();
            var keys = (RedisResult[])page[1]!;
            if (keys.Length > 0)
            {
                removed += (long)await db.ExecuteAsync("UNLINK", keys.Select(k => (object)k.ToString()).ToArray()).ConfigureAwait(false);
            }
        }
        while (cursor != "0");
        return removed;
    });

    /// <summary>Drops a doctor's own key and every list key (a list may hold the doctor; see <see cref="RemoveListsAsync"/>).</summary>
    public async Task<long> InvalidateDoctorAsync(string? id)
    {
        long removed = 0;
        if (id is not null)
        {
            removed += await RemoveAsync(CacheKeys.Single(id)).ConfigureAwait(false);
            return removed + await RemoveListsAsync().ConfigureAwait(false);
        }

        // An event that names no doctor: every composite may hold it.
        return await RemovePatternAsync(CacheKeys.All).ConfigureAwait(false);
    }

    /// <summary>List scans run by <see cref="RemoveListsAsync"/> (tests read it).</summary>
    internal long ListScans => Interlocked.Read(ref _listScans);

    /// <summary>
    /// Drops every list key by a SCAN that starts after this call: calls that arrive while a scan runs share the next
    /// one, so a burst of domain events (three per saga) costs a few scans, not one each. Returns the keys the serving
    /// scan dropped (shared by the calls it served).
    /// </summary>
    public Task<long> RemoveListsAsync()
    {
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_listsGate)
        {
            _listWaiters.Add(done);
            _listScanner ??= Task.Run(ScanListsAsync);
        }

        return done.Task;
    }

    private async Task ScanListsAsync()
    {
        while (true)
        {
            List<TaskCompletionSource<long>> served;
            lock (_listsGate)
            {
                if (_listWaiters.Count == 0)
                {
                    _listScanner = null;
                    return;
                }

                // Every waiter taken here asked before the scan below starts.
                served = [.. _listWaiters];
                _listWaiters.Clear();
            }

            Interlocked.Increment(ref _listScans);
            try
            {
                var removed = await RemovePatternAsync(CacheKeys.AllLists).ConfigureAwait(false);
                served.ForEach(w => w.TrySetResult(removed));
            }
            catch (Exception ex)
            {
                served.ForEach(w => w.TrySetException(ex));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated && await _connection.Value.ConfigureAwait(false) is { } connection)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<T?> TryAsync<T>(Func<IDatabase, Task<T>> work)
    {
        var connection = await _connection.Value.ConfigureAwait(false);
        if (connection is null)
        {
            return default;
        }

        if (!connection.IsConnected)
        {
            MarkDown(null);
            return default;
        }

        try
        {
            var result = await work(connection.GetDatabase()).ConfigureAwait(false);
            if (Interlocked.Exchange(ref _down, 0) == 1)
            {
                Log.CacheBack(_logger);
            }

            return result;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            MarkDown(ex);
            return default;
        }
    }

    private void MarkDown(Exception? exception)
    {
        if (Interlocked.Exchange(ref _down, 1) == 0)
        {
            Log.CacheDown(_logger, exception, exception?.GetType().Name ?? "not connected");
        }
    }

    private async Task<ConnectionMultiplexer?> ConnectAsync(string url)
    {
        var error = RedisUrl.TryParse(url, out var options);
        if (error is not null || options is null)
        {
            Log.CacheUnusable(_logger, error ?? "no options");
            return null;
        }

        // Keep trying in the background instead of failing the first call, and fail commands at once while
        // disconnected (the reads then go to the services) instead of holding them in a backlog.
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ConnectTimeout = 2000;
        options.AsyncTimeout = 1000;
        options.ConnectRetry = 1;
        options.ReconnectRetryPolicy = new LinearRetry(500);
        return await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
    }
}
