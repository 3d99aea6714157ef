using System.Net;
using System.Net.Sockets;

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
    public async Task Nodes_ProxyAnswers503WithAnHtmlPage_Exit1SayingSoWithoutAStackTrace()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        const string Page = "<html><body>Service Unavailable</body></html>";
        var serving = CannedHttpAnswer.ServeAsync(
            listener, $"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\nContent-Length: {Page.Length}\r\nConnection: close\r\n\r\n{Page}");

        var result = await BatonProcess.RunAsync(
            new Dictionary<string, string?> { ["BATON_URL"] = $"http://127.0.0.1:{port}", ["BATON_ADMIN_KEY"] = "k-0123456789abcdef" }, "nodes");
        listener.Stop();
        await serving;

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith("baton: ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SchedulesDelete_UrlAnswers200WithAnHtmlPage_Exit1NotDeleted()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        const string Page = "<html><body>Please sign in</body></html>";
        var serving = CannedHttpAnswer.ServeAsync(
            listener, $"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {Page.Length}\r\nConnection: close\r\n\r\n{Page}");

        var result = await BatonProcess.RunAsync(
            new Dictionary<string, string?> { ["BATON_URL"] = $"http://127.0.0.1:{port}", ["BATON_ADMIN_KEY"] = "k-0123456789abcdef" }, "schedules", "delete", "nightly");
        listener.Stop();
        await serving;

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.DoesNotContain("deleted nightly", result.Stdout, StringComparison.Ordinal);
    }
}
