using System.Collections.Concurrent;
using System.Diagnostics;

namespace Baton.Testing;

/// <summary>
/// A real child process (<c>dotnet X.dll</c>) with its output captured; killed on dispose if still running. The one
/// process helper of the test projects (<see cref="ServerProcess"/> and the multi-node tests' nodes wrap it).
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();

    private ChildProcess(Process process) => _process = process;

    /// <summary>Standard output and standard error, interleaved as they arrived.</summary>
    public string Output => string.Join('\n', _output);

    public string Stdout => string.Join('\n', _stdout);

    public string Stderr => string.Join('\n', _stderr);

    public int ExitCode => _process.ExitCode;

    public bool HasExited => _process.HasExited;

    public static string ServerDirectory => TestPaths.ServerDirectory;

    public static string SimulatorsDirectory => TestPaths.OutputDirectory("tools", "Baton.Simulators");

    /// <summary>Starts <c>dotnet <paramref name="dll"/> <paramref name="arguments"/></c> in the dll's folder on a clean set of Baton/ASP.NET variables.</summary>
    public static ChildProcess Start(string dll, IEnumerable<string> arguments, IEnumerable<KeyValuePair<string, string?>> environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var inherited in new[] { "ADMIN_KEY", "ASPNETCORE_URLS", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT", "BATON_PORT", "ORCHESTRATOR_PORT", "ASPNETCORE_HTTP_PORTS", "PORT", "WORKER_NODE_URL", "LOG_LEVEL" })
        {
            start.Environment.Remove(inherited);
        }

        foreach (var (key, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var child = new ChildProcess(process);
        process.OutputDataReceived += (_, e) => child.Capture(e.Data, child._stdout);
        process.ErrorDataReceived += (_, e) => child.Capture(e.Data, child._stderr);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Every line written to standard output so far.</summary>
    public IReadOnlyList<string> StdoutLines => [.. _stdout];

    /// <summary>Waits for the first standard output line that matches <paramref name="match"/>; fails early when the process exits without one.</summary>
    public Task<string> WaitForLineAsync(Func<string, bool> match, string what, TimeSpan? timeout = null) =>
        Poll.UntilAsync(
            () =>
            {
                var exited = _process.HasExited;
                var line = _stdout.FirstOrDefault(match);
                if (line is null && exited)
                {
                    throw new InvalidOperationException($"the process exited with {_process.ExitCode} before {what}: {Output}");
                }

                return Task.FromResult(line);
            },
            line => line is not null,
            what,
            timeout ?? TimeSpan.FromSeconds(60),
            TimeSpan.FromMilliseconds(10))!;

    /// <summary>Polls <paramref name="url"/> until it answers 200; fails early when the process exits.</summary>
    public async Task WaitForOkAsync(Uri url, TimeSpan? timeout = null)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Poll.UntilAsync(
            async () =>
            {
                if (_process.HasExited)
                {
                    throw new InvalidOperationException($"the process exited with {_process.ExitCode}: {Output}");
                }

                try
                {
                    using var response = await client.GetAsync(url);
                    return response.IsSuccessStatusCode;
                }
                // A connection reset while it is being set up surfaces as a bare SocketException (from reading the
                // socket's remote end point), not wrapped in an HttpRequestException: the server is not up yet either.
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Net.Sockets.SocketException)
                {
                    return false;
                }
            },
            ok => ok,
            $"{url} to answer",
            timeout ?? TimeSpan.FromSeconds(60));
    }

    /// <summary>Sends SIGTERM, as a process manager does.</summary>
    public void Terminate()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))!;
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -TERM {_process.Id} exited with {kill.ExitCode}");
        }
    }

    /// <summary>SIGKILL: the process dies at once, with no shutdown code run (a crash, an OOM kill, a pulled plug).</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
            _process.WaitForExit();
        }
    }

    public int ProcessId => _process.Id;

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        // The parameterless wait also drains the redirected output.
        _process.WaitForExit();
        return _process.ExitCode;
    }

    private void Capture(string? line, ConcurrentQueue<string> stream)
    {
        if (line is not null)
        {
            stream.Enqueue(line);
            _output.Enqueue(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
