using System.Diagnostics;
using Npgsql;

namespace Baton.Testing;

/// <summary>
/// A private PostgreSQL cluster for one group of tests: <c>initdb</c> into a temp directory, <c>pg_ctl</c> on a free
/// port, listening on 127.0.0.1 only, trust authentication. Private so a test can stop and restart it without
/// disturbing the other test projects on the shared server. Run as the <c>postgres</c> OS user when the tests run
/// as root (PostgreSQL refuses root). Stopped and deleted on dispose. Missing binaries fail the tests with a message;
/// they never skip.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private readonly string _directory;
    private readonly string _bin;

    private PostgresCluster(string directory, string bin, int port)
    {
        _directory = directory;
        _bin = bin;
        Port = port;
    }

    public int Port { get; private set; }

    private string DataDirectory => Path.Combine(_directory, "data");

    public string ConnectionString(string database, int maxPoolSize = 20) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Maximum Pool Size={maxPoolSize};Timeout=15";

    /// <summary>
    /// Creates the cluster (<c>initdb</c>) and starts it. A start refused for a port in use (taken by another process
    /// after it was chosen) is tried again on a new port, <see cref="PortInUse.Attempts"/> starts in all.
    /// </summary>
    /// <param name="choosePort">Chooses the port of each start; the default is <see cref="Ports.Free"/>.</param>
    public static async Task<PostgresCluster> StartAsync(Func<int>? choosePort = null)
    {
        var bin = FindBinaries();
        var directory = Path.Combine(Path.GetTempPath(), "baton-pg-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(directory);
        var cluster = new PostgresCluster(directory, bin, 0);
        try
        {
            if (Environment.IsPrivilegedProcess)
            {
                await RunAsync("chown", ["postgres:postgres", directory]);
            }

            await cluster.PgAsync("initdb", ["-D", cluster.DataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
            return await PortInUse.RetryOnNewPortsAsync("the private PostgreSQL", async () =>
            {
                cluster.Port = (choosePort ?? Ports.Free)();
                await cluster.StartServerAsync();
                return cluster;
            });
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the server (again) on the same port and data; waits until it accepts connections.</summary>
    public async Task StartServerAsync()
    {
        var logPath = Path.Combine(_directory, "server.log");
        var logStart = File.Exists(logPath) ? new FileInfo(logPath).Length : 0;
        try
        {
            await PgAsync("pg_ctl", [
                "-D", DataDirectory, "-l", logPath, "-w", "-t", "60", "start",
                "-o", $"-c listen_addresses=127.0.0.1 -p {Port} -c unix_socket_directories={_directory} -c max_connections=300 -c fsync=off -c synchronous_commit=off",
            ]);
        }
        catch (InvalidOperationException ex)
        {
            // pg_ctl only says "Examine the log output": the reason is in this start's part of the server's log.
            var log = ReadFrom(logPath, logStart);
            if (log.Contains("could not bind", StringComparison.Ordinal) && log.Contains("Address already in use", StringComparison.Ordinal))
            {
                throw new PortInUseException($"PostgreSQL could not listen on 127.0.0.1:{Port}, a port in use: {log}", [Port], ex);
            }

            throw new InvalidOperationException($"{ex.Message}\nserver.log: {log}", ex);
        }
    }

    private static string ReadFrom(string path, long offset)
    {
        if (!File.Exists(path))
        {
            return "(no log)";
        }

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        file.Seek(Math.Min(offset, file.Length), SeekOrigin.Begin);
        using var reader = new StreamReader(file);
        return reader.ReadToEnd();
    }

    /// <summary>Stops the server (fast shutdown: open connections are cut, as in an outage).</summary>
    public Task StopServerAsync() => PgAsync("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "-t", "60", "stop"]);

    /// <summary>
    /// Freezes the server with SIGSTOP, the postmaster and every backend: a PostgreSQL that hangs, not one that is down.
    /// Connections stay open and new ones are accepted by the kernel, but nothing answers. <see cref="ResumeServerAsync"/> thaws it.
    /// </summary>
    public Task FreezeServerAsync() => SignalServerAsync("STOP");

    /// <summary>Thaws a server frozen by <see cref="FreezeServerAsync"/> (SIGCONT); what was sent to it meanwhile is then executed.</summary>
    public Task ResumeServerAsync() => SignalServerAsync("CONT");

    private async Task SignalServerAsync(string signal)
    {
        var postmaster = File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).First().Trim();
        // The postmaster first: it cannot fork a backend for a new connection between the two signals.
        await RunAsync("kill", [$"-{signal}", postmaster]);
        await RunAsync("pkill", [$"-{signal}", "-P", postmaster]);
    }

    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public string ServerLog => File.Exists(Path.Combine(_directory, "server.log")) ? File.ReadAllText(Path.Combine(_directory, "server.log")) : "";

    private static string FindBinaries()
    {
        if (Environment.GetEnvironmentVariable("PG_BIN") is { Length: > 0 } configured)
        {
            return File.Exists(Path.Combine(configured, "initdb"))
                ? configured
                : throw new InvalidOperationException($"PG_BIN is '{configured}' but has no initdb");
        }

        var found = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        return found ?? throw new InvalidOperationException(
            "These tests run their own PostgreSQL and need its server binaries (initdb, pg_ctl): none under " +
            "/usr/lib/postgresql/*/bin. Install the postgresql package (scripts/test.sh does) or set PG_BIN.");
    }

    private Task PgAsync(string tool, IReadOnlyList<string> arguments) =>
        Environment.IsPrivilegedProcess
            ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. arguments])
            : RunAsync(Path.Combine(_bin, tool), arguments);

    private static async Task RunAsync(string file, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await stderr}{await stdout}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
            {
                await PgAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"]);
            }
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
