namespace Baton.Cli.Tests;

/// <summary>Exit codes for an unreachable server, a refused key and bad arguments; the key never printed.</summary>
public sealed class AccessAndUsageTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task AnyCommand_NothingListening_Exit3NamingTheServer()
    {
        var port = Ports.Free();

        var result = await BatonProcess.RunAsync(
            new Dictionary<string, string?> { ["BATON_URL"] = $"http://127.0.0.1:{port}", ["BATON_ADMIN_KEY"] = "secret-key-unreachable" }, "runs", "list");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains($"cannot reach the server at http://127.0.0.1:{port}", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-key-unreachable", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCommand_WrongKeyFromOption_Exit4AndKeyNotEchoed()
    {
        var result = await BatonProcess.RunAsync(
            new Dictionary<string, string?> { ["BATON_URL"] = fixture.Server.BaseAddress.ToString() }, "runs", "list", "--key", "wrong-key-7f3a9c");

        Assert.Equal(4, result.ExitCode);
        Assert.Contains("refused the admin key", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-key-7f3a9c", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCommand_NoKey_Exit4()
    {
        var result = await BatonProcess.RunAsync(new Dictionary<string, string?> { ["BATON_URL"] = fixture.Server.BaseAddress.ToString() }, "workflows");

        Assert.Equal(4, result.ExitCode);
    }

    [Fact]
    public async Task Runs_UnknownSubcommand_Exit2WithHelpHint()
    {
        var result = await BatonProcess.RunAsync(fixture.Server, "runs", "lst");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Unrecognized command or argument 'lst'", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("baton runs --help", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunsList_LimitOutOfRange_Exit2()
    {
        var result = await BatonProcess.RunAsync(fixture.Server, "runs", "list", "--limit", "0");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--limit must be a whole number from 1 to 500", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("99999999999")]
    public async Task RunsList_LimitNotANumberOrPastInt_Exit2WithoutAStackTrace(string limit)
    {
        var result = await BatonProcess.RunAsync(fixture.Server, "runs", "list", "--limit", limit);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--limit must be a whole number from 1 to 500", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("runs", "get", "")]
    [InlineData("runs", "cancel", " ")]
    [InlineData("runs", "retry", "")]
    [InlineData("runs", "watch", "")]
    [InlineData("runs", "start", "")]
    [InlineData("events", "send", "", "go")]
    [InlineData("events", "send", "0123456789abcdef0123456789abcdef", "")]
    [InlineData("schedules", "delete", "")]
    [InlineData("schedules", "set", "", "-w", "demo", "-c", "0 0 * * *")]
    public async Task AnyCommand_EmptyArgument_Exit2NamingItWithoutAStackTrace(params string[] args)
    {
        var result = await BatonProcess.RunAsync(fixture.Server, args);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("cannot be empty", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCommand_UrlNotHttp_Exit2()
    {
        var result = await BatonProcess.RunAsync(fixture.Server, "nodes", "--url", "ftp://example");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("is not an http(s) URL", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_RunsStart_Exit0WithExamples()
    {
        var result = await BatonProcess.RunAsync(fixture.Server, "runs", "start", "--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Examples:", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("baton runs start demo", result.Stdout, StringComparison.Ordinal);
    }
}
