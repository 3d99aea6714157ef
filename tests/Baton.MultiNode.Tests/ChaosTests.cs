using System.Diagnostics;
using System.Net;
using Baton.MultiNode.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Baton.MultiNode.Tests;

[Collection(ClusterCollection.Name)]
public sealed class ChaosTests(ClusterFixture fixture, ITestOutputHelper output)
{
    private const int Runs = 1000;
    private const int Steps = 6;

    [Fact]
    public async Task ThousandRuns_NodesKilledAndRestartedAtRandom_EveryRunCompletesOnceNoCompletedStepRerun()
    {
        var seed = Environment.GetEnvironmentVariable("MULTINODE_SEED") is { } s ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : Random.Shared.Next();
        var random = new Random(seed);
        // At most 100 runs at once per node, so the 1,000 queue up and the chaos hits runs in every state.
        var settings = new Dictionary<string, string?> { ["Baton__Engine__MaxConcurrentRuns"] = "100" };
        await using var deployment = await Deployment.CreateAsync(fixture.Cluster);
        await deployment.StartNodesAsync(3, settings);
        var watch = Stopwatch.StartNew();

        var next = -1;
        var senders = Enumerable.Range(0, 16).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < Runs)
            {
                var node = deployment.Live[i % deployment.Live.Count];
                var (status, _) = await node.StartRunAsync("chain", new { steps = Steps, stepMs = 1000 }, idempotencyKey: $"chaos-{i}");
                Assert.Equal(HttpStatusCode.Accepted, status);
            }
        });
        await Task.WhenAll(senders);
        var startedIn = watch.Elapsed;

        // Chaos: every 2-4 s SIGKILL a random node (one that is still starting up too) and start a new process in its
        // place 0.5-1.5 s later, without waiting for it to be ready: nodes die mid-start, mid-claim and mid-step.
        var kills = new List<string>();
        var chaosEnd = watch.Elapsed + TimeSpan.FromSeconds(60);
        while (watch.Elapsed < chaosEnd && await UnfinishedAsync(deployment) > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(random.Next(2000, 4000)));
            var victim = deployment.Live[random.Next(deployment.Live.Count)];
            deployment.Kill(victim);
            kills.Add($"{victim.NodeId}@{watch.Elapsed.TotalSeconds:0.0}s");
            await Task.Delay(TimeSpan.FromMilliseconds(random.Next(500, 1500)));
            deployment.StartNode(victim.NodeId[..victim.NodeId.LastIndexOf('-')], settings);
        }

        var chaosFor = watch.Elapsed;
        await Poll.UntilAsync(() => UnfinishedAsync(deployment), n => n == 0, "every run to finish", TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(500));
        var total = watch.Elapsed;

        var runs = await deployment.CountAsync("SELECT count(*) FROM baton.runs");
        var succeeded = await deployment.CountAsync("SELECT count(*) FROM baton.runs WHERE status = 10");
        var executions = await deployment.CountAsync("SELECT sum(executions) FROM baton.runs");
        var audit = await deployment.AuditStepsAsync();
        output.WriteLine($"seed {seed}; {Runs} runs of {Steps} steps started in {startedIn.TotalSeconds:0.0} s; {kills.Count} kills ({string.Join(", ", kills)}) " +
            $"over {chaosFor.TotalSeconds:0.0} s; all finished after {total.TotalSeconds:0.0} s; {succeeded} succeeded; " +
            $"{executions - runs} resumed executions; {audit}");
        Assert.True(kills.Count >= 5, $"only {kills.Count} kills: the runs finished before the chaos had an effect");
        Assert.Equal(Runs, runs);
        Assert.Equal(Runs, succeeded);
        Assert.Equal(Runs * Steps, audit.CompletedSteps);
        Assert.Equal(0, audit.AttemptsAfterCompletion);
        Assert.Equal(0, audit.CompletedWithoutEffect);
        Assert.Equal(0, audit.OverlappingAttempts);
    }

    private static Task<long> UnfinishedAsync(Deployment deployment) =>
        deployment.CountAsync("SELECT count(*) FROM baton.runs WHERE status < 10");
}
