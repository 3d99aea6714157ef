using StackExchange.Redis;

namespace Baton.Apps.BrandInsights.Tests.Infrastructure;

/// <summary>
/// The shared Redis scripts/test.sh starts (<see cref="SharedRedis"/>), for tests whose keys are
/// unique per test (a brand named by a GUID); tests that use the seed's fixed keys (<c>brands:list</c>) start a
/// private one instead. An unreachable server fails with a message that says how to start one.
/// </summary>
internal static class BrandRedis
{
    private static readonly Lazy<ConnectionMultiplexer> Connection = new(Connect);

    public static IDatabase Database => Connection.Value.GetDatabase();

    /// <summary>A brand name no other test uses, with a colon and a space as real brand names may have.</summary>
    public static string NewBrand() => "test brand:" + Guid.NewGuid().ToString("N");

    /// <summary>Deletes every key of <paramref name="brand"/> (seed keys and Baton's).</summary>
    public static async Task DeleteBrandAsync(string brand)
    {
        var server = Connection.Value.GetServers()[0];
        var keys = new List<RedisKey> { BrandKeys.Chunks(brand), BrandKeys.Summary(brand), BrandKeys.Failed(brand), BrandKeys.State(brand), BrandKeys.Merged(brand) };
        await foreach (var key in server.KeysAsync(pattern: "baton:brand-insights:mentions:" + brand.Replace("*", "\\*", StringComparison.Ordinal) + ":*"))
        {
            keys.Add(key);
        }

        await Database.KeyDeleteAsync([.. keys]);
    }

    private static ConnectionMultiplexer Connect()
    {
        try
        {
            return ConnectionMultiplexer.Connect(SharedRedis.Configuration + ",connectTimeout=3000");
        }
        catch (RedisConnectionException ex)
        {
            throw new InvalidOperationException(SharedRedis.Unreachable(ex), ex);
        }
    }
}
