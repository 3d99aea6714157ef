using System.Globalization;
using System.Net;

namespace Baton.Testing;

/// <summary>
/// The real server as a child process (<c>dotnet Baton.Server.dll</c>) on a free 127.0.0.1 port, in Production,
/// with its output captured; killed on dispose if still running.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private ServerProcess(ChildProcess process, int port)
    {
        _process = process;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
    }

    public int Port { get; }

    public Uri BaseAddress { get; }

    public string Stdout => _process.Stdout;

    /// <summary>Waits for a line of standard output that <paramref name="match"/> accepts (the server may answer before its log lines arrive).</summary>
    public Task<string> WaitForLineAsync(Func<string, bool> match, string what, TimeSpan? timeout = null) =>
        _process.WaitForLineAsync(match, what, timeout);

    public string Stderr => _process.Stderr;

    /// <summary>Standard output and standard error, interleaved as they arrived.</summary>
    public string Output => _process.Output;

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts the server with <paramref name="environment"/> (a null value removes the variable) on top of a clean set
    /// of variables (no inherited ADMIN_KEY, URLs or ports), fast engine polls and the demo workflow switched on.
    /// </summary>
    public static ServerProcess Start(IEnumerable<KeyValuePair<string, string?>> environment, int? port = null)
    {
        var chosenPort = port ?? Ports.Free();
        var variables = new Dictionary<string, string?>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["BATON_PORT"] = chosenPort.ToString(CultureInfo.InvariantCulture),
            ["Baton__Engine__PollInterval"] = "00:00:00.050",
            ["Baton__Engine__ProgressFlushInterval"] = "00:00:00.100",
            // The tests use the demo workflow, which outside Development is off unless switched on (null removes it).
            ["Baton__Demo__Enabled"] = "true",
        };
        foreach (var (key, value) in environment)
        {
            variables[key] = value;
        }

        return new ServerProcess(ChildProcess.Start(Path.Combine(TestPaths.ServerDirectory, "Baton.Server.dll"), [], variables), chosenPort);
    }

    /// <summary>Polls /healthz until it answers 200; fails early when the process exits.</summary>
    public Task WaitForLiveAsync(TimeSpan? timeout = null) => _process.WaitForOkAsync(new Uri(BaseAddress, "/healthz"), timeout);

    /// <summary>A client of the server, sending <paramref name="key"/> as X-ADMIN-KEY when given.</summary>
    public HttpClient NewClient(string? key)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add("X-ADMIN-KEY", key);
        }

        return client;
    }

    /// <summary>Sends SIGTERM, as a process manager or <c>kill -TERM</c> does.</summary>
    public void Terminate() => _process.Terminate();

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void Kill() => _process.Kill();

    /// <summary>Waits for the process to exit; returns its exit code.</summary>
    public Task<int> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
