namespace Baton.Cli.Tests;

/// <summary>How a run's progress counters are shown: bars for done/total pairs, the rest as counters.</summary>
public sealed class RunRenderingTests
{
    [Fact]
    public void Progress_PairAndLoneTotal_BarOnlyForThePairTheLoneTotalIsACounter()
    {
        // The catalog sync reports lines.total with no lines.done; before, `baton sync` drew a "lines 0/N" bar that never moved.
        var progress = new Dictionary<string, long>(StringComparer.Ordinal)
        {
            ["chunks.done"] = 3, ["chunks.total"] = 60, ["lines.total"] = 300_000, ["bytes"] = 659_000_000,
        };

        var bars = RunRendering.Bars(progress).ToList();
        var counters = RunRendering.Counters(progress).Select(c => c.Key).ToList();

        Assert.Equal([("chunks", 3L, 60L)], bars);
        Assert.Equal(["bytes", "lines.total"], counters);
        Assert.Equal("chunks 3/60, bytes=659000000, lines.total=300000", RunRendering.Progress(progress));
    }
}
