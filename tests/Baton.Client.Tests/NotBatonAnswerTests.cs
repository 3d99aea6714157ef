using System.Net;
using System.Net.Sockets;

namespace Baton.Client.Tests;

/// <summary>Answers that are not Baton's (a proxy's page, a login page, another service): a typed <see cref="BatonApiException"/>, never a bare JSON error or a false success.</summary>
public sealed class NotBatonAnswerTests
{
    private static async Task<Exception?> AgainstCannedAnswerAsync(string answer, Func<BatonApiClient, Task> call)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serving = CannedHttpAnswer.ServeAsync(listener, answer);
        var client = BatonApiClient.Create(new Uri($"http://127.0.0.1:{port}/"), "k-0123456789abcdef");
        var error = await Record.ExceptionAsync(() => call(client));
        listener.Stop();
        await serving;
        return error;
    }

    private static string Html(int status, string reason)
    {
        const string Page = "<html><body>Service Unavailable</body></html>";
        return $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html\r\nContent-Length: {Page.Length}\r\nConnection: close\r\n\r\n{Page}";
    }

    [Theory]
    [InlineData(503, "Service Unavailable")] // a reverse proxy whose backend is down
    [InlineData(200, "OK")]                  // a login page, another service on the port
    public async Task ListNodesAsync_AnswerThatIsNotJson_IsABatonApiException(int status, string reason)
    {
        var error = await AgainstCannedAnswerAsync(Html(status, reason), c => c.ListNodesAsync());

        Assert.IsType<BatonApiException>(error);
    }

    [Fact]
    public async Task ListWorkflowsAsync_ProxyHtml503_IsABatonApiException()
    {
        // Control: the other verbs already do this.
        var error = await AgainstCannedAnswerAsync(Html(503, "Service Unavailable"), c => c.ListWorkflowsAsync());

        var api = Assert.IsType<BatonApiException>(error);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, api.Status);
    }

    [Fact]
    public async Task DeleteScheduleAsync_200HtmlPage_IsABatonApiExceptionNotDeleted()
    {
        // Another service or a login page at the URL: nothing was deleted, yet the client reports it was.
        bool? deleted = null;
        var error = await AgainstCannedAnswerAsync(Html(200, "OK"), async c => deleted = await c.DeleteScheduleAsync("nightly"));

        Assert.True(error is BatonApiException, $"deleted={deleted}, error={error?.GetType().Name ?? "none"}");
    }
}
