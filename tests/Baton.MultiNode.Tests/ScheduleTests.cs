using System.Net;
using System.Text;
using Baton.MultiNode.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Baton.MultiNode.Tests;

/// <summary>On its own cluster (a class fixture, not the shared collection), so its two minutes overlap the other tests.</summary>
public sealed class ScheduleTests(ClusterFixture fixture, ITestOutputHelper output) : IClassFixture<ClusterFixture>
{
    /// <summary>How long the schedule fires; <c>MULTINODE_SCHEDULE_SECONDS</c> overrides it. The default is 120.</summary>
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("MULTINODE_SCHEDULE_SECONDS"), out var seconds) ? seconds : 120);

    [Fact]
    public async Task Schedule_EverySecondOnThreeNodes_ExactlyOneRunPerFireTimeNoGaps()
    {
        await using var deployment = await Deployment.CreateAsync(fixture.Cluster);
        var nodes = await deployment.StartNodesAsync(3);
        using var put = await nodes[0].Client.PutAsync(
            "/api/schedules/every-second",
            new StringContent("""{"workflow":"chain","cron":"* * * * * *","timeZone":"UTC","input":{"steps":1,"stepMs":0}}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);

        // The soak itself: the schedule fires on its own; the test only checks now and then that every node is still up.
        var end = DateTime.UtcNow + Duration;
        while (DateTime.UtcNow < end)
        {
            await Task.Delay(TimeSpan.FromSeconds(5));
            Assert.All(nodes, n => Assert.False(n.HasExited, $"{n.NodeId} exited: {n.Output}"));
        }

        using var disable = await nodes[1].Client.PutAsync(
            "/api/schedules/every-second",
            new StringContent("""{"workflow":"chain","cron":"* * * * * *","timeZone":"UTC","input":{"steps":1,"stepMs":0},"enabled":false}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, disable.StatusCode);
        await Poll.UntilAsync(
            () => deployment.CountAsync("SELECT count(*) FROM baton.runs WHERE status < 10"),
            n => n == 0,
            "the last scheduled runs to finish",
            TimeSpan.FromSeconds(30));

        var fires = await deployment.QueryAsync(
            "SELECT scheduled_fire_time, count(*), min(status), max(status) FROM baton.runs WHERE schedule_name = 'every-second' GROUP BY 1 ORDER BY 1",
            r => (Time: r.GetFieldValue<DateTimeOffset>(0), Runs: r.GetInt64(1), MinStatus: r.GetInt32(2), MaxStatus: r.GetInt32(3)));
        var skipped = await deployment.CountAsync("SELECT count(*) FROM baton.schedule_fires WHERE run_id IS NULL");
        var gaps = fires.Zip(fires.Skip(1), (a, b) => (a.Time, Gap: b.Time - a.Time)).Where(p => p.Gap != TimeSpan.FromSeconds(1)).ToList();

        output.WriteLine($"{fires.Count} fire times over {Duration.TotalSeconds:0} s on 3 nodes, from {fires.FirstOrDefault().Time:O} to {fires.LastOrDefault().Time:O}; " +
            $"duplicates {fires.Count(f => f.Runs > 1)}, gaps {gaps.Count}, skipped fires {skipped}");
        Assert.True(fires.Count >= Duration.TotalSeconds - 10, $"only {fires.Count} fire times in {Duration.TotalSeconds} s");
        Assert.All(fires, f => Assert.Equal(1, f.Runs));
        Assert.Empty(gaps);
        Assert.Equal(0, skipped);
        Assert.All(fires, f => Assert.Equal((10, 10), (f.MinStatus, f.MaxStatus)));
    }
}
