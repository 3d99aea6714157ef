namespace Baton.Cli.Tests;

/// <summary>
/// The command in-process with its console captured: on a terminal, <c>runs watch</c> draws live progress bars
/// (ANSI cursor and colour codes); redirected, it writes plain lines. Against the real server process.
/// </summary>
public sealed class TerminalOutputTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task RunsWatch_Terminal_DrawsProgressBarPerFanOutWithAnsi()
    {
        var id = (await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":6,"delayMs":150,"parallelism":2}""", "--json"))
            .Json().GetProperty("run").GetProperty("id").GetString()!;
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exitCode = await BatonCli.RunAsync(
            ["runs", "watch", id, "--url", fixture.Server.BaseAddress.ToString(), "--key", fixture.Server.Key], output, error, terminal: true);

        Assert.True(exitCode == 0, error.ToString());
        var text = output.ToString();
        Assert.Contains("\u001b[", text, StringComparison.Ordinal);
        Assert.Contains("items", text, StringComparison.Ordinal);
        Assert.Contains("100%", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunsWatch_Redirected_PlainLinesWithoutAnsi()
    {
        var id = (await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":2,"delayMs":100}""", "--json"))
            .Json().GetProperty("run").GetProperty("id").GetString()!;
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exitCode = await BatonCli.RunAsync(
            ["runs", "watch", id, "--url", fixture.Server.BaseAddress.ToString(), "--key", fixture.Server.Key], output, error, terminal: false);

        Assert.True(exitCode == 0, error.ToString());
        var text = output.ToString();
        Assert.DoesNotContain("\u001b[", text, StringComparison.Ordinal);
        Assert.Contains($"run {id} succeeded", text, StringComparison.Ordinal);
    }
}
