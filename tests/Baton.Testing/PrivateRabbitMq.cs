using System.Diagnostics;
using System.Globalization;

namespace Baton.Testing;

/// <summary>
/// A RabbitMQ node of a test's own, for tests that stop or kill the broker (never the shared one): its own node name
/// (<c>baton-{id}@localhost</c>), AMQP and distribution ports, data and log folders in a temp dir, no plugins, bound to
/// 127.0.0.1 only (node, epmd and the Erlang distribution). <see cref="StopAsync"/>/<see cref="StartAsync"/> restart it
/// on the same ports with the same data (durable queues and persistent messages survive); <see cref="Kill"/> is a
/// SIGKILL. Disposing kills it and deletes its folder.
/// </summary>
public sealed class PrivateRabbitMq : IAsyncDisposable
{
    private const string ServerScript = "/usr/lib/rabbitmq/bin/rabbitmq-server";
    private const string CtlScript = "/usr/lib/rabbitmq/bin/rabbitmqctl";
    private Process? _server;

    private PrivateRabbitMq()
    {
        var id = Guid.NewGuid().ToString("N")[..12];
        NodeName = $"baton-{id}@localhost";
        Directory = TestPaths.NewTempDirectory();
        Port = FreePort();
        DistPort = FreePort();
        File.WriteAllText(Path.Combine(Directory, "enabled_plugins"), "[].\n");
    }

    public string NodeName { get; }

    /// <summary>The AMQP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The Erlang distribution port (on 127.0.0.1).</summary>
    public int DistPort { get; }

    /// <summary>The node's folder: mnesia/, log/, the Erlang cookie.</summary>
    public string Directory { get; }

    /// <summary><c>amqp://guest:guest@127.0.0.1:{Port}/</c>.</summary>
    public string Url => $"amqp://guest:guest@127.0.0.1:{Port}/";

    public bool IsRunning => _server is { HasExited: false };

    /// <summary>
    /// Starts a new node and waits until it accepts connections (about 4–6 s). A start refused for a port in use (taken
    /// by another process after it was chosen) is tried again on new ports, <see cref="PortInUse.Attempts"/> starts in all.
    /// </summary>
    public static async Task<PrivateRabbitMq> StartNewAsync(TimeSpan? timeout = null)
    {
        if (!File.Exists(ServerScript))
        {
            throw new InvalidOperationException($"PrivateRabbitMq needs rabbitmq-server ({ServerScript} is missing): apt-get install rabbitmq-server (see DEPENDENCIES.md).");
        }

        // Its two ports come from the ephemeral range: a start refused for a port in use is tried again on new ports.
        return await PortInUse.RetryOnNewPortsAsync("the private RabbitMQ node", async () =>
        {
            var broker = new PrivateRabbitMq();
            try
            {
                await broker.StartAsync(timeout);
                return broker;
            }
            catch
            {
                await broker.DisposeAsync();
                throw;
            }
        });
    }

    private static bool IsPortInUse(string startFailure) =>
        startFailure.Contains("already_used", StringComparison.Ordinal) || startFailure.Contains("eaddrinuse", StringComparison.OrdinalIgnoreCase);

    /// <summary>Starts the node (again, on the same ports and data) and waits until its AMQP listener answers.</summary>
    public async Task StartAsync(TimeSpan? timeout = null)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"{NodeName} is already running.");
        }

        var start = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            WorkingDirectory = Directory,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"exec {ServerScript} >> '{Path.Combine(Directory, "server.out")}' 2>&1");
        SetEnvironment(start, server: true);
        _server = Process.Start(start) ?? throw new InvalidOperationException("rabbitmq-server did not start");
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(120));
        while (true)
        {
            if (_server.HasExited)
            {
                var tail = Tail();
                if (IsPortInUse(tail))
                {
                    throw new PortInUseException($"{NodeName} could not listen on 127.0.0.1:{Port} (AMQP) or {DistPort} (distribution), a port in use: {tail}", [Port, DistPort]);
                }

                throw new InvalidOperationException($"{NodeName} exited with {_server.ExitCode} while starting: {tail}");
            }

            if (await AmqpAnswersAsync())
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{NodeName} did not start on 127.0.0.1:{Port}: {Tail()}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>Stops the node cleanly (<c>rabbitmqctl shutdown</c>) and waits for its process to end.</summary>
    public async Task StopAsync()
    {
        if (!IsRunning)
        {
            return;
        }

        await CtlAsync(TimeSpan.FromSeconds(60), "-q", "shutdown");
        if (!_server!.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            Kill();
        }
    }

    /// <summary>
    /// Sets the node's memory high watermark (<c>rabbitmqctl set_vm_memory_high_watermark</c>): "0" raises the memory
    /// alarm, under which the broker stops reading from connections that publish (no confirm arrives); "0.4" (the
    /// default) clears it. Returns once <see cref="HasAlarmAsync"/> agrees.
    /// </summary>
    public async Task SetMemoryHighWatermarkAsync(string fraction)
    {
        var (code, _) = await CtlAsync(TimeSpan.FromSeconds(60), "-q", "set_vm_memory_high_watermark", fraction);
        if (code != 0)
        {
            throw new InvalidOperationException($"rabbitmqctl set_vm_memory_high_watermark {fraction} exited with {code}");
        }

        var alarm = fraction != "0.4";
        await Poll.UntilAsync(HasAlarmAsync, on => on == alarm, $"the memory alarm to be {(alarm ? "on" : "off")}", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(200));
    }

    /// <summary>True while a resource alarm (memory or disk) is in effect on the node.</summary>
    public async Task<bool> HasAlarmAsync()
    {
        var (code, output) = await CtlAsync(TimeSpan.FromSeconds(60), "-q", "eval", "rabbit_alarm:get_alarms().");
        if (code != 0)
        {
            throw new InvalidOperationException($"rabbitmqctl eval exited with {code}: {output}");
        }

        return output.Contains("resource_limit", StringComparison.Ordinal);
    }

    /// <summary>SIGKILL: the broker dies at once (unacknowledged messages come back on restart; durable data stays).</summary>
    public void Kill()
    {
        if (File.Exists(PidFile) && int.TryParse(File.ReadAllText(PidFile).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid))
        {
            try
            {
                using var beam = Process.GetProcessById(pid);
                beam.Kill();
                beam.WaitForExit(TimeSpan.FromSeconds(10));
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
        }

        if (_server is { HasExited: false } server)
        {
            server.Kill(entireProcessTree: true);
            server.WaitForExit(TimeSpan.FromSeconds(10));
        }

        File.Delete(PidFile);
    }

    private string PidFile => Path.Combine(Directory, "rabbitmq.pid");

    private string Tail()
    {
        var path = Path.Combine(Directory, "server.out");
        return File.Exists(path) ? string.Join('\n', File.ReadLines(path).TakeLast(15)) : "(no output)";
    }

    /// <summary>
    /// True when the node's AMQP listener answers the protocol header with a frame (connection.start): the broker has
    /// booted. Not <c>rabbitmqctl await_startup</c>: every CLI call is an Erlang node of its own on one of 11 shared
    /// distribution ports (35672-35682); on a loaded machine with several brokers starting at once, a node whose output said
    /// "Starting broker... completed" never passed that check within a minute (CI, 2026-12-05).
    /// </summary>
    private async Task<bool> AmqpAnswersAsync()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            using var client = new System.Net.Sockets.TcpClient();
            await client.ConnectAsync(System.Net.IPAddress.Loopback, Port, cancel.Token);
            var stream = client.GetStream();
            byte[] header = [(byte)'A', (byte)'M', (byte)'Q', (byte)'P', 0, 0, 9, 1];
            await stream.WriteAsync(header, cancel.Token);
            var frame = new byte[1];
            return await stream.ReadAsync(frame, cancel.Token) == 1 && frame[0] == 1;
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Runs <c>rabbitmqctl -n node</c> with <paramref name="arguments"/>: its exit code and output.</summary>
    private Task<(int ExitCode, string Output)> CtlAsync(TimeSpan timeout, params string[] arguments)
    {
        var start = new ProcessStartInfo(CtlScript) { WorkingDirectory = Directory };
        start.ArgumentList.Add("-n");
        start.ArgumentList.Add(NodeName);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        SetEnvironment(start, server: false);
        return ProcessRunner.RunAsync(start, timeout);
    }

    private void SetEnvironment(ProcessStartInfo start, bool server)
    {
        // HOME holds the Erlang cookie the node and rabbitmqctl share.
        start.Environment["HOME"] = Directory;
        start.Environment["RABBITMQ_NODENAME"] = NodeName;
        start.Environment["ERL_EPMD_ADDRESS"] = "127.0.0.1";
        if (!server)
        {
            // The CLI's own distribution ports stay at their default range (35672-35682), not DIST_PORT + 10000.
            return;
        }

        start.Environment["RABBITMQ_NODE_PORT"] = Port.ToString(CultureInfo.InvariantCulture);
        start.Environment["RABBITMQ_DIST_PORT"] = DistPort.ToString(CultureInfo.InvariantCulture);
        start.Environment["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1";
        start.Environment["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}";
        start.Environment["RABBITMQ_MNESIA_BASE"] = Path.Combine(Directory, "mnesia");
        start.Environment["RABBITMQ_LOG_BASE"] = Path.Combine(Directory, "log");
        start.Environment["RABBITMQ_PID_FILE"] = PidFile;
        start.Environment["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(Directory, "enabled_plugins");
        // No config files of the machine's own broker.
        start.Environment["RABBITMQ_CONFIG_FILE"] = Path.Combine(Directory, "rabbitmq");
        start.Environment["RABBITMQ_ADVANCED_CONFIG_FILE"] = Path.Combine(Directory, "advanced.config");
        start.Environment["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(Directory, "rabbitmq-env.conf");
    }

    // The CLI tools take 35672-35682 for their own distribution listener: never hand those out.
    private static int FreePort()
    {
        while (true)
        {
            var port = Ports.Free();
            if (port is < 35672 or > 35682 && port != 25672 && port != 5672)
            {
                return port;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        _server?.Dispose();
        await Task.Yield();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a dying process: the temp folder is cleaned later.
        }
    }
}
