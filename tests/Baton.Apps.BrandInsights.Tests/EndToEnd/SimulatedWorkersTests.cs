using Baton.Apps.BrandInsights.Tests.Infrastructure;
using Baton.Simulators.BrandWorkers;
using StackExchange.Redis;

namespace Baton.Apps.BrandInsights.Tests.EndToEnd;

/// <summary>The brand-workers simulator feeding the real server: summaries equal the simulator's independent computation.</summary>
public sealed class SimulatedWorkersTests : PrivateRedisTests
{
    [Fact]
    public async Task Push_BadAndDuplicateChunks_EverySummaryEqualsTheExpectedOne()
    {
        var db = Db;
        var generator = new BrandChunkGenerator(new BrandChunkSettings { Brands = 6, Chunks = 6_000, Bad = 0.03, Duplicates = 0.05, Seed = 7, BrandPrefix = "sim:brand " });
        await BrandWorkersSimulator.RegisterBrandsAsync(db, generator.BrandNames, asList: false);
        await using var server = await BrandServer.StartAsync(BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-sim"));

        await BrandWorkersSimulator.PushAsync(db, generator);

        await Expectations.WaitUntilAllMatchAsync(db, generator, TimeSpan.FromSeconds(20));
        await Expectations.AssertExactlyOnceAsync(db, generator);
    }
}
