using Baton.Nodes;
using Baton.Redis;
using StackExchange.Redis;

namespace Baton.Apps.BrandInsights.Trigger;

/// <summary>
/// Which process reads which brand's chunk list: the seed's "brand-level processing lock", as a Redis lease per brand
/// (<c>baton:brand-insights:owner:&lt;brand&gt;</c> = the consumer id, with a time to live, renewed at every brand refresh).
/// Baton's per-brand concurrency key already keeps two runs of a brand apart; the lease also keeps two processes from
/// popping one list at once, which would reorder its batches (and the merge rules depend on arrival order). Each live
/// process takes at most its fair share (brands ÷ live processes, rounded up); one holding more gives the extras back
/// once it holds none of their items (its processing list is empty), so the next owner starts after them.
/// </summary>
internal sealed class BrandLeases(RedisListTriggerOptions trigger, IBatonNodes nodes, TimeSpan leaseTtl, TimeProvider time)
{
    private const string NodesKey = "baton:brand-insights:nodes";
    private string? _consumerId;
    private IReadOnlyList<string> _held = [];

    // Renews a lease held by this consumer, or takes a free one; returns 1 when held afterwards.
    private const string TakeOrRenew = """
        local owner = redis.call('GET', KEYS[1])
        if owner == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
        if owner then return 0 end
        if ARGV[3] == '1' then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
        return 0
        """;

    // Gives a lease back when held by this consumer and its processing list for the brand is empty; returns 1 when given back.
    private const string Release = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 2 end
        if redis.call('LLEN', KEYS[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 0 end
        redis.call('DEL', KEYS[1])
        return 1
        """;

    /// <summary>
    /// The list trigger's consumer id, read at the first refresh (the trigger's start, once the node's own name is known),
    /// so the leases and the processing lists they look at are the trigger's.
    /// </summary>
    public string ConsumerId => _consumerId ??= trigger.ConsumerIdOf(nodes);

    public static string OwnerKey(string brand) => "baton:brand-insights:owner:" + brand;

    /// <summary>The brands of <paramref name="brands"/> this process reads until the next refresh.</summary>
    public async Task<IReadOnlyList<string>> AssignAsync(IDatabase db, IReadOnlyList<string> brands, CancellationToken cancellationToken)
    {
        var consumerId = ConsumerId;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var ttl = (long)leaseTtl.TotalMilliseconds;
        await db.SortedSetAddAsync(NodesKey, consumerId, now + ttl).WaitAsync(cancellationToken);
        await db.SortedSetRemoveRangeByScoreAsync(NodesKey, double.NegativeInfinity, now).WaitAsync(cancellationToken);
        var live = Math.Max(1, await db.SortedSetLengthAsync(NodesKey).WaitAsync(cancellationToken));
        var fairShare = (int)Math.Ceiling(brands.Count / (double)live);

        // Brands already held first (renewed), so a process keeps what it has up to its share; then free ones.
        var owners = await Task.WhenAll(brands.Select(b => db.StringGetAsync(OwnerKey(b)))).WaitAsync(cancellationToken);
        var heldByMe = new HashSet<string>(brands.Where((_, i) => owners[i] == consumerId), StringComparer.Ordinal);
        var mine = new List<string>();
        foreach (var brand in heldByMe.Concat(brands.Where((_, i) => owners[i].IsNull)))
        {
            var take = mine.Count < fairShare;
            if (!take && heldByMe.Contains(brand))
            {
                // Not read any more; the lease goes once this process holds none of the brand's items.
                await GiveBackAsync(db, brand, consumerId, cancellationToken);
                continue;
            }

            var result = (long)await db.ScriptEvaluateAsync(TakeOrRenew, [OwnerKey(brand)], [consumerId, ttl, take ? "1" : "0"]).WaitAsync(cancellationToken);
            if (result == 1)
            {
                mine.Add(brand);
            }
        }

        Volatile.Write(ref _held, mine);
        return mine;
    }

    /// <summary>
    /// At a graceful stop, once the list trigger has stopped: gives back every brand this process holds whose processing
    /// list is empty, and leaves the live-process set, so another process takes them at its next refresh instead of after
    /// the lease's time to live (up to 100 s with the default refresh). A brand whose batch was cut off mid-step keeps its
    /// lease: that batch is this process's to finish at its restart (or another's once the lease expires). Returns how many
    /// were given back.
    /// </summary>
    public async Task<int> ReleaseAllAsync(IDatabase db, CancellationToken cancellationToken)
    {
        if (_consumerId is not { } consumerId)
        {
            return 0;
        }

        var released = 0;
        foreach (var brand in Volatile.Read(ref _held))
        {
            // Counted only when this call deleted the lease: one that had already expired or gone to another process is not.
            released += await GiveBackAsync(db, brand, consumerId, cancellationToken) == ReleaseOutcome.Deleted ? 1 : 0;
        }

        await db.SortedSetRemoveAsync(NodesKey, consumerId).WaitAsync(cancellationToken);
        return released;
    }

    /// <summary>
    /// The <see cref="Release"/> script for one brand: deletes its lease when this consumer holds it and its processing list
    /// is empty (else renews it).
    /// </summary>
    private async Task<ReleaseOutcome> GiveBackAsync(IDatabase db, string brand, string consumerId, CancellationToken cancellationToken) =>
        (ReleaseOutcome)(long)await db.ScriptEvaluateAsync(
            Release, [OwnerKey(brand), trigger.ProcessingListKey(consumerId, BrandKeys.Chunks(brand))], [consumerId, (long)leaseTtl.TotalMilliseconds])
            .WaitAsync(cancellationToken);

    /// <summary>What <see cref="Release"/> did: kept (items left, renewed), deleted, or found the lease not this consumer's.</summary>
    private enum ReleaseOutcome
    {
        Kept = 0,
        Deleted = 1,
        NotMine = 2,
    }
}
