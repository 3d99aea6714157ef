using System.Net.Sockets;
using System.Text;

namespace Baton.Deploy.Tests;

/// <summary>
/// <c>Type=notify</c> in baton.service relies on the server telling the service manager when it is ready. No systemd
/// runs here, so the test plays its part: the server runs as PID 1 of a PID namespace of its own with
/// <c>NOTIFY_SOCKET</c> set (how .NET's <c>UseSystemd()</c> recognises a service manager besides a parent named
/// systemd), and the test reads the datagrams the server sends to that socket.
/// </summary>
public sealed class SystemdNotifyTests
{
    [Fact]
    public async Task UseSystemd_UnderServiceManager_NotifiesReadyThenStoppingAndLogsJson()
    {
        var root = TestPaths.NewTempDirectory();
        var socketPath = Path.Combine(root, "notify.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        var port = Ports.Free();
        var start = ServerUnderTest.Command("unshare", "--pid", "--fork", "--", "dotnet", "Baton.Server.dll");
        start.WorkingDirectory = TestPaths.ServerDirectory;
        using var unshare = ServerUnderTest.Start(start, root, new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ADMIN_KEY"] = "systemd-notify-test-key-" + Guid.NewGuid().ToString("N"),
            ["BATON_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Baton__Store__Sqlite__Path"] = Path.Combine(root, "baton.db"),
            ["NOTIFY_SOCKET"] = socketPath,
        });
        try
        {
            var ready = await ReceiveAsync(socket, TimeSpan.FromSeconds(60));
            using (var client = new HttpClient())
            {
                // READY=1 comes once the server listens: /healthz answers at once.
                using var healthz = await client.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"));
                Assert.True(healthz.IsSuccessStatusCode);
            }

            // The server is the only child of unshare (PID 1 inside); SIGTERM goes to it, as systemd sends it.
            var child = (await File.ReadAllTextAsync($"/proc/{unshare.Process.Id}/task/{unshare.Process.Id}/children")).Trim();
            await ServerUnderTest.TerminateAsync(child);

            var stopping = await ReceiveAsync(socket, TimeSpan.FromSeconds(30));
            using var drain = new CancellationTokenSource(DeployFiles.ShutdownTimeout);
            await unshare.Process.WaitForExitAsync(drain.Token);

            Assert.Contains("READY=1", ready, StringComparison.Ordinal);
            Assert.Contains("STOPPING=1", stopping, StringComparison.Ordinal);
            Assert.True(unshare.Process.ExitCode == 0, unshare.Output);
            // The documented JSON console stays under a service manager (UseSystemd would switch to its own format).
            Assert.Contains(unshare.Lines, l => l.StartsWith("{\"Timestamp\":", StringComparison.Ordinal) && l.Contains("\"EventId\":1000,", StringComparison.Ordinal));
            Assert.DoesNotContain(unshare.Lines, l => l.StartsWith("<6>", StringComparison.Ordinal));
        }
        finally
        {
            unshare.Dispose();
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<string> ReceiveAsync(Socket socket, TimeSpan timeout)
    {
        var buffer = new byte[4096];
        using var cancel = new CancellationTokenSource(timeout);
        var received = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
        return Encoding.UTF8.GetString(buffer, 0, received);
    }
}
