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

    [Fact]
    public void WriteRun_FailureAndErrorsHoldingTerminalEscapes_WrittenVisibleNotSentToTheTerminal()
    {
        // A failure message quoting another service's answer can hold ESC sequences. Before: written raw, so `baton runs get`
        // made the operator's terminal clear its screen, retitle its window (OSC 0) or, in some terminals, set the clipboard.
        const string Hostile = "upstream said: \u001b]0;owned\u0007\u001b[2J\rdone";
        var at = new DateTimeOffset(2026, 12, 7, 1, 0, 0, TimeSpan.Zero);
        var run = new Baton.Client.RunView(
            "0193f1c2a0b07c3d9e8f0a1b2c3d4e5f", "demo", "failed", "processing \u009b31m", new Dictionary<string, long>(),
            [new Baton.Client.RunErrorView(at, Hostile, "fetch")], null, null, new Baton.Client.FailureView(Hostile, "HttpRequestException", null),
            null, null, null, null, null, false, 1, at, at, at, at, at, null,
            [new Baton.Client.StepView("fetch", "step", "failed", null, Hostile, "HttpRequestException", 1, at, at, 5, [])], null);
        using var output = new StringWriter();

        RunRendering.WriteRun(CliContext.CreateConsole(output, terminal: false), run);

        var text = output.ToString();
        Assert.DoesNotContain(text, c => c is '\u001b' or '\u0007' or '\r' or '\u009b');
        Assert.Contains("upstream said: \\u001b]0;owned\\u0007\\u001b[2J\\u000ddone", text, StringComparison.Ordinal);
        Assert.Contains("processing \\u009b31m", text, StringComparison.Ordinal);
    }
}
