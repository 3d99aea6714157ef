using Baton.Apps.BrandInsights.Tests.Infrastructure;
using Baton.Simulators.BrandWorkers;
using StackExchange.Redis;

namespace Baton.Apps.BrandInsights.Tests.EndToEnd;

/// <summary>SIGKILL of the real server at random moments while the simulator pushes: nothing lost, nothing merged twice.</summary>
public sealed class CrashTests : PrivateRedisTests
{
    [Fact]
    public async Task Kill_AtRandomMomentsWhile50000ChunksArePushed_EverySummaryExactlyOnce()
    {
        var db = Db;
        var generator = new BrandChunkGenerator(new BrandChunkSettings { Brands = 20, Chunks = 50_000, Bad = 0.02, Duplicates = 0.03, Seed = 15, BrandPrefix = "crash-" });
        await BrandWorkersSimulator.RegisterBrandsAsync(db, generator.BrandNames, asList: false);
        var environment = BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-crash");
        var server = await BrandServer.StartAsync(environment);
        var random = new Random(15);
        try
        {
            // About 6 s of pushing at 8,000 chunks/s, with the server killed 4 times meanwhile and once more after.
            var pushing = BrandWorkersSimulator.PushAsync(db, generator, rate: 8_000);
            for (var kill = 0; kill < 5; kill++)
            {
                await Task.Delay(random.Next(300, 1500)); // a random moment, not a wait for something to happen
                server.Process.Kill();
                await server.DisposeAsync();
                server = await BrandServer.StartAsync(environment);
            }

            var pushed = await pushing;
            Assert.Equal(generator.Pushes().Count(), pushed.Total);

            await Expectations.WaitUntilAllMatchAsync(db, generator, TimeSpan.FromSeconds(150));
            await Expectations.AssertExactlyOnceAsync(db, generator);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
