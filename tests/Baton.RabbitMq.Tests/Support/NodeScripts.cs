using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Baton.RabbitMq.Tests.Support;

/// <summary>
/// Runs the NestJS compatibility scripts (Node/scripts) with the real @nestjs/microservices. The npm packages are
/// installed once into a cached folder (<c>$BATON_NODE_CACHE</c>, default <c>~/.cache/baton-node/{hash of package.json}</c>)
/// and the install is skipped when that folder already has them. A missing node/npm or a failing install fails the test
/// with a message that says what to do.
/// </summary>
internal static class NodeScripts
{
    private static readonly Lazy<Task<string>> Folder = new(PrepareAsync);

    /// <summary>Starts <c>node {script} {arguments}</c> in the prepared folder.</summary>
    public static async Task<NodeProcess> StartAsync(string script, params string[] arguments)
    {
        var folder = await Folder.Value;
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(folder, script));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return new NodeProcess(Process.Start(start)!);
    }

    private static async Task<string> PrepareAsync()
    {
        var scripts = Path.Combine(AppContext.BaseDirectory, "Node", "scripts");
        var packageJson = await File.ReadAllTextAsync(Path.Combine(scripts, "package.json"));
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(packageJson)))[..12].ToLowerInvariant();
        var root = Environment.GetEnvironmentVariable("BATON_NODE_CACHE") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "baton-node");
        var folder = Path.Combine(root, hash);
        Directory.CreateDirectory(folder);
        if (!File.Exists(Path.Combine(folder, "node_modules", "@nestjs", "microservices", "package.json")))
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "package.json"), packageJson);
            var install = new ProcessStartInfo("npm") { WorkingDirectory = folder, ArgumentList = { "install", "--no-audit", "--no-fund", "--loglevel=error" } };
            var (code, output) = await ProcessRunner.RunAsync(install, TimeSpan.FromMinutes(5));
            if (code != 0)
            {
                throw new InvalidOperationException(
                    $"npm install of the NestJS packages into {folder} failed (exit {code}). The NestJS compatibility tests need Node 20, npm and " +
                    $"the npm registry (see DEPENDENCIES.md), or a folder prepared once with npm install (BATON_NODE_CACHE). Output:\n{output}");
            }
        }

        foreach (var script in Directory.GetFiles(scripts, "*.mjs"))
        {
            File.Copy(script, Path.Combine(folder, Path.GetFileName(script)), overwrite: true);
        }

        return folder;
    }
}

/// <summary>A running node script with its output lines collected; killed on dispose.</summary>
internal sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();

    public NodeProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _stdout.Enqueue(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _stderr.Enqueue(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public IReadOnlyList<string> Lines => [.. _stdout];

    public string Stderr => string.Join('\n', _stderr);

    /// <summary>Waits for the first output line matching <paramref name="match"/>; fails early when the script exits without one.</summary>
    public Task<string> WaitForLineAsync(Func<string, bool> match, string what) =>
        Poll.UntilAsync(
            () =>
            {
                var line = _stdout.FirstOrDefault(match);
                if (line is null && _process.HasExited)
                {
                    throw new InvalidOperationException($"node exited with {_process.ExitCode} before {what}: {string.Join('\n', _stdout)}\n{Stderr}");
                }

                return Task.FromResult(line);
            },
            line => line is not null,
            what,
            TimeSpan.FromSeconds(60),
            TimeSpan.FromMilliseconds(20))!;

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
