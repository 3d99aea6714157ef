using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Baton.Apps.ReviewGateway.Tests.Infrastructure;

namespace Baton.Apps.ReviewGateway.Tests.Enqueue;

/// <summary>
/// A body over the limit sent chunked (no Content-Length): the size is only known while reading, when
/// Kestrel's own limit may trip first. Every try must get the seed's 400, never a 413 problem.
/// </summary>
public sealed class OversizedBodyTests : IAsyncLifetime
{
    private const int Tries = 12;
    private GatewayServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await GatewayServer.StartAsync(new Uri($"http://127.0.0.1:{Ports.Free()}"));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData(20 * 1024)]
    [InlineData(2 * 1024 * 1024)]
    public async Task Enqueue_ChunkedBodyOverTheLimit_Returns400SeedShapeEveryTime(int size)
    {
        var before = (await _server.RunsAsync()).Count;
        var statuses = new List<string>();
        for (var i = 0; i < Tries; i++)
        {
            var (statusLine, contentType, body) = await SendChunkedAsync(size);
            statuses.Add(statusLine);
            Assert.True(statusLine == "HTTP/1.1 400 Bad Request", $"try {i + 1}: {statusLine} {contentType} {body}");
            Assert.Equal("application/json", contentType);
            using var json = JsonDocument.Parse(body);
            Assert.Equal("error", json.RootElement.GetProperty("status").GetString());
            Assert.Equal("request body is larger than 16384 bytes", json.RootElement.GetProperty("error").GetString());
            Assert.True(json.RootElement.TryGetProperty("timestamp", out _));
        }

        Assert.Equal(Tries, statuses.Count);
        Assert.Equal(before, (await _server.RunsAsync()).Count);
    }

    /// <summary>Raw HTTP/1.1: headers, then the body in 64 KiB chunks while the answer is read; the server may answer (and close) before the body is all sent.</summary>
    private async Task<(string StatusLine, string? ContentType, string Body)> SendChunkedAsync(int size)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, _server.Gateway.BaseAddress!.Port);
        var stream = client.GetStream();
        var head = $"POST /enqueue HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        var sending = Task.Run(async () =>
        {
            try
            {
                var chunk = Encoding.ASCII.GetBytes("{\"pad\":\"" + new string('x', 64 * 1024 - 8));
                for (var sent = 0; sent < size; sent += chunk.Length)
                {
                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"{chunk.Length:x}\r\n"));
                    await stream.WriteAsync(chunk);
                    await stream.WriteAsync("\r\n"u8.ToArray());
                    chunk = Encoding.ASCII.GetBytes(new string('x', 64 * 1024));
                }

                await stream.WriteAsync("0\r\n\r\n"u8.ToArray());
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                // The server answered and closed before the whole body was sent.
            }
        });

        using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
        var statusLine = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)) ?? "";
        string? contentType = null;
        var length = -1;
        var chunked = false;
        while (await reader.ReadLineAsync() is { Length: > 0 } header)
        {
            var colon = header.IndexOf(':', StringComparison.Ordinal);
            var name = header[..colon].Trim();
            var value = header[(colon + 1)..].Trim();
            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                contentType = value.Split(';')[0];
            }
            else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                length = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                chunked = true;
            }
        }

        string body;
        if (chunked)
        {
            var builder = new StringBuilder();
            while (await reader.ReadLineAsync() is { } sizeLine && int.Parse(sizeLine, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture) is var n && n > 0)
            {
                var buffer = new char[n];
                await reader.ReadBlockAsync(buffer);
                builder.Append(buffer);
                await reader.ReadLineAsync();
            }

            body = builder.ToString();
        }
        else
        {
            var buffer = new char[Math.Max(length, 0)];
            await reader.ReadBlockAsync(buffer);
            body = new string(buffer);
        }

        client.Close();
        await sending;
        return (statusLine, contentType, body);
    }
}
