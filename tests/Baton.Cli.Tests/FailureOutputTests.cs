namespace Baton.Cli.Tests;

/// <summary>Unreadable files and answers that are not Baton's: a clear message and an exit code, never a stack trace or a false success.</summary>
public sealed class FailureOutputTests
{
    private static readonly Dictionary<string, string?> NoServer = new()
    {
        ["BATON_URL"] = "http://127.0.0.1:1", ["BATON_ADMIN_KEY"] = "k-0123456789abcdef",
    };

    [Fact]
    public async Task RunsStart_InputFileIsADirectory_Exit2WithoutAStackTrace()
    {
        var directory = TestPaths.NewTempDirectory();

        var result = await BatonProcess.RunAsync(NoServer, "runs", "start", "demo", "--input-file", directory);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith("baton: --input-file", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EventsSend_PayloadFileIsADirectory_Exit2WithoutAStackTrace()
    {
        var directory = TestPaths.NewTempDirectory();

        var result = await BatonProcess.RunAsync(NoServer, "events", "send", "0193f1c2a0b07c3d9e8f0a1b2c3d4e5f", "approved", "--payload-file", directory);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nodes_ProxyAnswers503WithAnHtmlPage_Exit5SayingSoWithoutAStackTrace()
    {
        // Exit 5, a server error (before: 1, which a script could not tell from a run that failed).
        var result = await BatonProcess.RunAgainstHtmlPageAsync("503 Service Unavailable", "nodes");

        Assert.True(result.ExitCode == 5, result.ToString());
        Assert.StartsWith("baton: ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunsStart_ProxyAnswers502_Exit5NotTheRunFailedCode()
    {
        var result = await BatonProcess.RunAgainstHtmlPageAsync("502 Bad Gateway", "runs", "start", "demo", "--input", """{"items":1}""");

        Assert.True(result.ExitCode == 5, result.ToString());
        Assert.StartsWith("baton: 502 ", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, "runs", "list")]
    [InlineData(false, "runs", "get", "0193f1c2a0b07c3d9e8f0a1b2c3d4e5f")]
    [InlineData(false, "nodes")]
    [InlineData(true, "runs", "cancel", "0193f1c2a0b07c3d9e8f0a1b2c3d4e5f")]
    [InlineData(true, "schedules", "delete", "nightly")]
    public async Task AnyCommand_NoAnswerInTime_Exit3SayingAChangeMayHaveBeenMadeOnlyForACommandThatAsksForOne(bool changes, params string[] args)
    {
        // Before (review 60): a read that timed out said too that "a change this command asked for may still have been made".
        using var error = new StringWriter();

        var exitCode = await BatonCli.RunAsync([.. args, "--url", "http://127.0.0.1:1", "--key", "k-0123456789abcdef"], TextWriter.Null, error, terminal: false, new NoAnswerInTime());

        Assert.True(exitCode == 3, $"exit {exitCode}: {error}");
        Assert.Contains("no answer in time", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(changes, error.ToString().Contains("may still have been made", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SchedulesDelete_UrlAnswers200WithAnHtmlPage_Exit1NotDeleted()
    {
        var result = await BatonProcess.RunAgainstHtmlPageAsync("200 OK", "schedules", "delete", "nightly");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.DoesNotContain("deleted nightly", result.Stdout, StringComparison.Ordinal);
    }

    /// <summary>What HttpClient throws when its timeout passes before an answer: every request ends so, at once.</summary>
    private sealed class NoAnswerInTime : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromException<HttpResponseMessage>(new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout of 60 seconds elapsing.", new TimeoutException()));
    }
}
