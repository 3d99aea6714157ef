using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Baton.Client.Tests;

/// <summary>A client made by <see cref="BatonApiClient.Create"/> closes what it opened when disposed, and only that.</summary>
public sealed class DisposeTests
{
    private const string NodesAnswer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"nodes\":[]}";

    [Fact]
    public async Task Dispose_CreatedClient_ClosesItsKeptAliveConnection()
    {
        // Before, BatonApiClient was not disposable: its HttpClient and the kept-alive connection stayed open until the
        // process ended (the CLI, a tool making a client per command).
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = BatonApiClient.Create(new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/"), "k-0123456789abcdef");
        var accepting = listener.AcceptTcpClientAsync();
        var listing = client.ListNodesAsync();
        using var connection = await accepting;
        var stream = connection.GetStream();
        _ = await stream.ReadAsync(new byte[65536]);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(NodesAnswer));
        Assert.Empty(await listing);

        client.Dispose();

        // The client's end of the kept-alive connection closes: the next read sees the end of the stream.
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.Equal(0, await stream.ReadAsync(new byte[16], bound.Token));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.ListNodesAsync());
    }

    [Fact]
    public async Task Dispose_ClientOverAHandlerPassedIn_LeavesTheHandlerUsable()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serving = CannedHttpAnswer.ServeAsync(listener, NodesAnswer.Replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n", StringComparison.Ordinal));
        var address = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");
        using var handler = BatonApiClient.NoRedirects();

        using (var first = BatonApiClient.Create(address, "k-0123456789abcdef", handler))
        {
            Assert.Empty(await first.ListNodesAsync());
        }

        using var second = BatonApiClient.Create(address, "k-0123456789abcdef", handler);
        Assert.Empty(await second.ListNodesAsync());
        listener.Stop();
        await serving;
    }
}
