using System.Diagnostics;
using System.Net;
using Baton.MultiNode.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Baton.MultiNode.Tests;

[Collection(ClusterCollection.Name)]
public sealed class SingletonTests(ClusterFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task StartRun_200ConcurrentStartsAcrossThreeNodes_ExactlyOneRunOthersConflict()
    {
        await using var deployment = await Deployment.CreateAsync(fixture.Cluster);
        var nodes = await deployment.StartNodesAsync(3);
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var starts = Enumerable.Range(0, 200).Select(async i =>
        {
            await go.Task;
            return await nodes[i % 3].StartRunAsync("singleton");
        }).ToList();

        var watch = Stopwatch.StartNew();
        go.SetResult();
        var results = await Task.WhenAll(starts);
        watch.Stop();
        var runs = await deployment.CountAsync("SELECT count(*) FROM baton.runs WHERE workflow = 'singleton'");

        output.WriteLine($"200 starts in {watch.ElapsedMilliseconds} ms: " +
            string.Join(", ", results.GroupBy(r => r.Status).Select(g => $"{(int)g.Key} x{g.Count()}")));
        Assert.Single(results, r => r.Status == HttpStatusCode.Accepted);
        Assert.Equal(199, results.Count(r => r.Status == HttpStatusCode.Conflict));
        Assert.Equal(1, runs);
    }
}
