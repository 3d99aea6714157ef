using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Baton.Apps.BrandInsights.Trigger;

/// <summary>
/// The brands of <c>brands:list</c> (a set or a list; both are accepted), read by the trigger every refresh interval;
/// those this process holds the lease of (<see cref="BrandLeases"/>) become the chunk lists it consumes, and are what
/// <c>/health</c> shows as brands being processed.
/// A key of another type, or an empty or missing one, means no brands, with one log line when that state begins.
/// </summary>
internal sealed class BrandRegistry(Metrics.BrandMetrics metrics)
{
    private readonly Lock _lock = new();
    private IReadOnlyList<string> _brands = [];
    private string _lastProblem = "";

    /// <summary>Set once the host's services exist (the trigger's options are built before them).</summary>
    public ILogger Logger { get; set; } = NullLogger.Instance;

    /// <summary>The brand leases of this process; set with <see cref="Logger"/>. Until then every brand is read.</summary>
    public BrandLeases? Leases { get; set; }

    public IReadOnlyList<string> Brands
    {
        get
        {
            lock (_lock)
            {
                return _brands;
            }
        }
    }

    /// <summary>The chunk list keys of the brands in <c>brands:list</c>, for <c>DiscoverLists</c>.</summary>
    public async Task<IReadOnlyCollection<string>> DiscoverAsync(IDatabase database, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadAsync(database, cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            metrics.RedisError("discover");
            throw;
        }
    }

    private async Task<IReadOnlyCollection<string>> ReadAsync(IDatabase database, CancellationToken cancellationToken)
    {
        var type = await database.KeyTypeAsync(BrandKeys.BrandsList).WaitAsync(cancellationToken);
        RedisValue[] members = type switch
        {
            RedisType.Set => await database.SetMembersAsync(BrandKeys.BrandsList).WaitAsync(cancellationToken),
            RedisType.List => await database.ListRangeAsync(BrandKeys.BrandsList).WaitAsync(cancellationToken),
            _ => [],
        };
        var brands = members.Select(m => (string)m!).Where(b => b.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var mine = Leases is { } leases ? await leases.AssignAsync(database, brands, cancellationToken) : brands;
        var problem = type is RedisType.Set or RedisType.List or RedisType.None ? (brands.Count == 0 ? "empty" : "") : type.ToString().ToLowerInvariant();
        lock (_lock)
        {
            if (problem != _lastProblem)
            {
                if (problem == "empty")
                {
                    Log.BrandsListEmpty(Logger);
                }
                else if (problem.Length > 0)
                {
                    Log.BrandsListWrongType(Logger, problem);
                }

                _lastProblem = problem;
            }

            if (!mine.SequenceEqual(_brands, StringComparer.Ordinal))
            {
                Log.BrandsChanged(Logger, mine.Count == 0 ? "none" : string.Join(", ", mine));
                _brands = mine;
            }
        }

        return [.. mine.Select(BrandKeys.Chunks)];
    }
}
