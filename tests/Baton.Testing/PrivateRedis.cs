using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Baton.Testing;

/// <summary>
/// A private <c>redis-server</c> for one test (never the shared one): a free 127.0.0.1 port, its own temporary
/// directory, optional AOF persistence (fsync on every write) and password. It can be stopped (SIGTERM), killed
/// (SIGKILL) and started again on the same port and directory, so a test can take Redis away and bring it back.
/// Disposing kills it and deletes the directory.
/// </summary>
public sealed class PrivateRedis : IAsyncDisposable
{
    private readonly List<string> _log = [];
    private Process? _process;

    private PrivateRedis(int port, string directory, bool appendOnly, string? password)
    {
        Port = port;
        Directory = directory;
        AppendOnly = appendOnly;
        Password = password;
    }

    public int Port { get; private set; }

    /// <summary>The server's working directory (its AOF lives here).</summary>
    public string Directory { get; }

    public bool AppendOnly { get; }

    public string? Password { get; }

    /// <summary>StackExchange form: <c>127.0.0.1:port[,password=...]</c>.</summary>
    public string Configuration => Password is null ? $"127.0.0.1:{Port}" : $"127.0.0.1:{Port},password={Password}";

    /// <summary>URL form: <c>redis://[:password@]127.0.0.1:port</c>.</summary>
    public string Url => Password is null ? $"redis://127.0.0.1:{Port}" : $"redis://:{Uri.EscapeDataString(Password)}@127.0.0.1:{Port}";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The server's own output so far (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (_log)
            {
                return string.Join('\n', _log);
            }
        }
    }

    /// <summary>
    /// Starts a server and waits until it answers PING. A start refused for a port in use (taken by another process after
    /// it was chosen) is tried again on a new port, <see cref="PortInUse.Attempts"/> starts in all.
    /// </summary>
    /// <param name="appendOnly">AOF on with <c>appendfsync always</c>, so a kill or restart loses no acknowledged write.</param>
    /// <param name="password">A <c>requirepass</c>, or none.</param>
    /// <param name="choosePort">Chooses the port of each start; the default is <see cref="Ports.Free"/>.</param>
    public static async Task<PrivateRedis> StartAsync(bool appendOnly = false, string? password = null, Func<int>? choosePort = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "baton-redis-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var redis = new PrivateRedis(0, directory, appendOnly, password);
        try
        {
            return await PortInUse.RetryOnNewPortsAsync("the private redis-server", async () =>
            {
                redis.Port = (choosePort ?? Ports.Free)();
                await redis.StartAgainAsync();
                return redis;
            });
        }
        catch
        {
            await redis.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the server again (after <see cref="StopAsync"/> or <see cref="Kill"/>) on the same port and directory; waits until it answers.</summary>
    public async Task StartAgainAsync()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("the private Redis is already running");
        }

        var start = new ProcessStartInfo("redis-server")
        {
            WorkingDirectory = Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", Directory, "--save", "",
                     "--appendonly", AppendOnly ? "yes" : "no", "--appendfsync", "always", "--daemonize", "no", "--protected-mode", "no",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        if (Password is not null)
        {
            start.ArgumentList.Add("--requirepass");
            start.ArgumentList.Add(Password);
        }

        var firstLine = OutputLineCount;
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException(
                "These tests start a private redis-server, which is not installed: apt-get install redis-server (scripts/test.sh does).", ex);
        }

        process.OutputDataReceived += (_, e) => Capture(e.Data);
        process.ErrorDataReceived += (_, e) => Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process?.Dispose();
        _process = process;
        await Poll.UntilAsync(
            async () =>
            {
                if (process.HasExited)
                {
                    // Its last lines (the bind error) may still be on their way to Capture.
                    await process.WaitForExitAsync();
                    var output = OutputSince(firstLine);
                    if (output.Contains("Address already in use", StringComparison.Ordinal))
                    {
                        throw new PortInUseException($"redis-server could not listen on 127.0.0.1:{Port}, a port in use: {output}", [Port]);
                    }

                    throw new InvalidOperationException($"redis-server exited with {process.ExitCode}: {output}");
                }

                return await PingAsync();
            },
            ok => ok,
            $"the private redis-server on port {Port} to answer",
            TimeSpan.FromSeconds(30),
            TimeSpan.FromMilliseconds(20));
    }

    /// <summary>Stops the server as a service manager does (SIGTERM: with AOF it flushes and exits) and waits for the exit.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))!)
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
    }

    /// <summary>SIGKILL: the server dies at once (with AOF and <c>appendfsync always</c>, every acknowledged write survives).</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            process.WaitForExit();
        }
    }

    /// <summary>Stops the server (SIGTERM) and starts it again on the same port and directory.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAgainAsync();
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await client.ConnectAsync("127.0.0.1", Port, cancel.Token);
            var stream = client.GetStream();
            var command = Password is null ? "PING\r\n" : $"AUTH {Password}\r\nPING\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(command), cancel.Token);
            var buffer = new byte[256];
            var text = new StringBuilder();
            while (!text.ToString().Contains("PONG", StringComparison.Ordinal) && !text.ToString().Contains('-', StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer, cancel.Token);
                if (read == 0)
                {
                    break;
                }

                text.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }

            return text.ToString().Contains("+PONG", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    private int OutputLineCount
    {
        get
        {
            lock (_log)
            {
                return _log.Count;
            }
        }
    }

    private string OutputSince(int line)
    {
        lock (_log)
        {
            return string.Join('\n', _log.Skip(line));
        }
    }

    private void Capture(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.Add(line);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        await Task.Yield();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open: the temp directory is cleaned by the system.
        }
    }
}
