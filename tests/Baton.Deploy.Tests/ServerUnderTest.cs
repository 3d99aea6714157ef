using System.Collections.Concurrent;
using System.Diagnostics;

namespace Baton.Deploy.Tests;

/// <summary>
/// A server process started on a clean environment (only PATH and HOME inherited, as a container or a unit gives
/// it) with its output captured; killed on dispose if it is still running.
/// </summary>
internal sealed class ServerUnderTest : IDisposable
{
    private readonly ConcurrentQueue<string> _output = new();
    private bool _disposed;

    private ServerUnderTest(Process process) => Process = process;

    public Process Process { get; }

    /// <summary>Standard output and standard error, interleaved as they arrived.</summary>
    public IReadOnlyList<string> Lines => [.. _output];

    public string Output => string.Join('\n', _output);

    public static ServerUnderTest Start(ProcessStartInfo start, string home, IEnumerable<KeyValuePair<string, string>> environment)
    {
        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.Environment.Clear();
        start.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH");
        start.Environment["HOME"] = home;
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var server = new ServerUnderTest(Process.Start(start)!);
        server.Process.OutputDataReceived += (_, e) => server._output.Enqueue(e.Data ?? "");
        server.Process.ErrorDataReceived += (_, e) => server._output.Enqueue(e.Data ?? "");
        server.Process.BeginOutputReadLine();
        server.Process.BeginErrorReadLine();
        return server;
    }

    /// <summary>A command with its arguments, output captured.</summary>
    public static ProcessStartInfo Command(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    /// <summary>Sends SIGTERM to <paramref name="pid"/>, as a container runtime or systemd does.</summary>
    public static async Task TerminateAsync(string pid)
    {
        var result = await ProcessRunner.RunAsync(Command("kill", "-TERM", pid), TimeSpan.FromSeconds(10));
        Assert.True(result.ExitCode == 0, $"kill -TERM {pid}: {result.Output}");
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
        }

        Process.Dispose();
    }
}
