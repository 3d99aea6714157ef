using System.Diagnostics;
using StackExchange.Redis;

namespace Baton.Apps.DoctorOnboarding.Tests.Infrastructure;

/// <summary>
/// The shared Redis (<c>BATON_REDIS</c>, set by scripts/test.sh; default 127.0.0.1:6379) for the cache tests: they use
/// database 9, which nothing else in the repository uses, and run one at a time (the seed fixes the keys, so two tests
/// at once would drop each other's). Fails with a clear message when Redis does not answer.
/// </summary>
internal static class TestRedis
{
    public const int Database = 9;

    public static string Endpoint => Environment.GetEnvironmentVariable("BATON_REDIS") is { Length: > 0 } value ? value : "127.0.0.1:6379";

    /// <summary>The cache's <c>REDIS_URL</c> for the shared Redis, database 9.</summary>
    public static string Url => $"redis://{Endpoint}/{Database}";

    public static async Task<ConnectionMultiplexer> ConnectAsync()
    {
        try
        {
            var options = ConfigurationOptions.Parse(Endpoint);
            options.AllowAdmin = true;
            options.DefaultDatabase = Database;
            return await ConnectionMultiplexer.ConnectAsync(options);
        }
        catch (RedisConnectionException ex)
        {
            throw new InvalidOperationException(
                $"Redis does not answer at {Endpoint} ({(Environment.GetEnvironmentVariable("BATON_REDIS") is { Length: > 0 } ? "BATON_REDIS" : "the default; BATON_REDIS is not set")}). " +
                "Run the tests through scripts/test.sh, or start redis-server and set BATON_REDIS.", ex);
        }
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
        }, ok => ok, $"redis-server on port {Port}", TimeSpan.FromSeconds(10));
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
