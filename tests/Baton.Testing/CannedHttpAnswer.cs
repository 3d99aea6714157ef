using System.Net.Sockets;
using System.Text;

namespace Baton.Testing;

/// <summary>
/// A peer that answers every connection with one fixed HTTP response (a redirect, an HTML page), read from the raw
/// socket, until its listener stops: what a misbehaving service, proxy or login page sends.
/// </summary>
public static class CannedHttpAnswer
{
    /// <summary>Reads each request (one read) and writes <paramref name="response"/> (status line, headers and body) until <paramref name="listener"/> stops.</summary>
    public static async Task ServeAsync(TcpListener listener, string response)
    {
        ArgumentNullException.ThrowIfNull(listener);
        var bytes = Encoding.ASCII.GetBytes(response);
        try
        {
            while (true)
            {
                using var client = await listener.AcceptTcpClientAsync();
                var stream = client.GetStream();
                _ = await stream.ReadAsync(new byte[65536]);
                await stream.WriteAsync(bytes);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }
}
