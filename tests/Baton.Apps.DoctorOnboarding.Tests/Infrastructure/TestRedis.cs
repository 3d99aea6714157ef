using System.Diagnostics;
using StackExchange.Redis;

namespace Baton.Apps.DoctorOnboarding.Tests.Infrastructure;

/// <summary>
/// The Redis of the cache tests: a private redis-server that <see cref="RedisCollectionFixture"/> starts for the
/// <see cref="RedisCollection"/> (database 9 on it). The seed fixes the cache's key names and the tests flush the
/// database and count the server's commands, so they run one at a time on a server of their own: on the shared Redis
/// (until 2026-12-05) a second test run on the machine (another worktree, another engineer) flushed their keys.
/// </summary>
internal static class TestRedis
{
    public const int Database = 9;

    private static PrivateRedis? s_server;

    public static string Endpoint => (s_server ?? throw new InvalidOperationException(
        $"TestRedis is started by the fixture of [Collection(RedisCollection.Name)]: put the test class in that collection.")).Configuration;

    /// <summary>The cache's <c>REDIS_URL</c>, database 9.</summary>
    public static string Url => $"redis://{Endpoint}/{Database}";

    /// <summary>Set by the collection's fixture before its first test and cleared after its last.</summary>
    internal static void Use(PrivateRedis? server) => s_server = server;

    public static async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var options = ConfigurationOptions.Parse(Endpoint);
        options.AllowAdmin = true;
        options.DefaultDatabase = Database;
        return await ConnectionMultiplexer.ConnectAsync(options);
    }
}

/// <summary>A private redis-server on a free port in a temp directory, for tests that stop and start it (never the shared one).</summary>
internal sealed class PrivateRedisServer : IAsyncDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"baton-redis-{Guid.NewGuid():N}");
    private Process? _process;

    public int Port { get; } = Ports.Free();

    public string Url => $"redis://127.0.0.1:{Port}";

    public async Task StartAsync()
    {
        Directory.CreateDirectory(_directory);
        _process = Process.Start(new ProcessStartInfo("redis-server",
            ["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", _directory, "--save", "", "--appendonly", "no"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        }) ?? throw new InvalidOperationException("redis-server did not start (apt-get install redis-server)");
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        await Poll.UntilAsync(async () =>
        {
            try
            {
                await using var probe = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{Port},connectTimeout=200,abortConnect=true");
                return true;
            }
            catch (RedisConnectionException)
            {
                return false;
            }
        }, ok => ok, $"redis-server on port {Port}", TimeSpan.FromSeconds(60));
    }

    /// <summary>Kills the server (SIGKILL) and waits for it to be gone.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
