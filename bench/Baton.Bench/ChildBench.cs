using System.Diagnostics;
using Baton.Runs;

namespace Baton.Bench;

/// <summary>The parents measured by <see cref="ChildBench.ParentsAsync"/> and the 10-step runs measured against them.</summary>
internal sealed record ChildBenchResult(ThroughputResult Parents, ThroughputResult TenSteps)
{
    /// <summary>CPU of a parent with its 10 children over CPU of a 10-step run (this process plus PostgreSQL's, if any).</summary>
    public double CpuRatio => Total(Parents.CpuPerRun) / Total(TenSteps.CpuPerRun);

    /// <summary>10-step runs per second over parents per second: how many times longer a parent takes under the same load.</summary>
    public double RateRatio => TenSteps.RunsPerSecond / Parents.RunsPerSecond;

    private static double Total((double Own, double Postgres) cpu) => double.IsNaN(cpu.Postgres) ? cpu.Own : cpu.Own + cpu.Postgres;
}

/// <summary>
/// Child runs: N parent runs, each starting <see cref="ChildrenPerParent"/> child runs one after another (each child a
/// no-op workflow), against N runs of 10 steps. Both are started by 32 callers on a fresh node and timed from the
/// first start to the last parent (or run) stored as ended; CPU is counted over the same interval, so a parent's
/// CPU includes its children's.
/// </summary>
internal static class ChildBench
{
    public const string ParentWorkflow = "bench-parent";
    public const string ChildWorkflow = "bench-child";
    public const int ChildrenPerParent = 10;

    public static async Task<ChildBenchResult> RunAsync(BenchSettings settings, int runs)
    {
        var tenSteps = await EngineBench.ThroughputAsync(settings, "10-step (against parents)", runs, steps: 10);
        var parents = await ParentsAsync(settings, runs);
        return new ChildBenchResult(parents, tenSteps);
    }

    private static async Task<ThroughputResult> ParentsAsync(BenchSettings settings, int runs)
    {
        Console.WriteLine($"running {runs:N0} parent runs of {ChildrenPerParent} child runs each ...");
        await using var node = await EngineBench.Node.StartAsync(settings, 1, []);
        var cpu = new CpuMeter(settings.Postgres is null ? null : new Npgsql.NpgsqlConnectionStringBuilder(settings.Postgres).Database);
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();
        await EngineBench.StartAllAsync(node, ParentWorkflow, runs);
        await node.WaitForParentsAsync(runs);
        watch.Stop();
        var (own, postgres) = cpu.Elapsed();
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        // After the clock: every parent and every child must have succeeded, or the figures measure something else.
        foreach (var (workflow, expected) in new[] { (ParentWorkflow, runs), (ChildWorkflow, runs * ChildrenPerParent) })
        {
            var counts = await node.Client.CountRunsAsync(new CountRunsRequest { Workflow = workflow });
            if (counts[RunStatus.Succeeded] != expected || counts.Total != expected)
            {
                throw new InvalidOperationException($"{workflow}: expected {expected} succeeded runs, found {string.Join(", ", counts.ByStatus.Select(c => $"{c.Value} {c.Key}"))}");
            }
        }

        // Trigger-to-start latency is not measured for parents: their first line runs again on each resume.
        return new ThroughputResult(runs, watch.Elapsed, double.NaN, double.NaN, own, postgres, allocated);
    }
}
