using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Baton.Apps.DoctorOnboarding;
using Baton.Hosting;
using Baton.RabbitMq;
using Baton.Server;
using Baton.Simulators.DoctorServices;
using Baton.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Baton.Bench;

/// <summary>
/// <c>--doctor</c>: seed 004 on Baton through the real RabbitMQ (BATON_RABBITMQ) and Redis (BATON_REDIS, database 9),
/// everything in this process on fresh queues and a fresh SQLite store: the bare NestJS request/reply limit (an echo
/// pattern, no saga, no cache), doctor creations end to end (gateway client → orchestrator → saga of 3 steps, 6 service
/// calls → reply), and cached composite reads. Each phase sends <c>--doctor-requests</c> requests (default 2000;
/// reads 10x) with <c>--doctor-concurrency</c> in flight (default 64), after <c>--doctor-warmup</c> unmeasured ones (default 1000;
/// echo and reads 5x), and reports requests/s, p50/p99 latency, and CPU time and allocations per request of this process.
/// </summary>
internal static class DoctorBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        string Arg(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        var requests = int.Parse(Arg("--doctor-requests", "2000"), CultureInfo.InvariantCulture);
        var concurrency = int.Parse(Arg("--doctor-concurrency", "64"), CultureInfo.InvariantCulture);
        // Requests of each kind sent before its measured phase: enough for tiered compilation to finish its tier-1 code of
        // the hot paths (its JIT time otherwise lands in the measured CPU per request).
        var warmup = int.Parse(Arg("--doctor-warmup", "1000"), CultureInfo.InvariantCulture);
        var rabbit = Environment.GetEnvironmentVariable("BATON_RABBITMQ") is { Length: > 0 } r ? r : "amqp://guest:guest@127.0.0.1:5672/";
        var redis = $"redis://{(Environment.GetEnvironmentVariable("BATON_REDIS") is { Length: > 0 } e ? e : "127.0.0.1:6379")}/9";
        var run = Guid.NewGuid().ToString("N")[..8];
        string Q(string name) => $"bench-{name}-{run}";
        var directory = Path.Combine(Path.GetTempPath(), $"baton-doctor-bench-{run}");
        Directory.CreateDirectory(directory);
        Console.WriteLine($"# Doctor onboarding benchmark (seed 004) — {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {requests:N0} requests per phase, {concurrency} in flight");

        await using var services = await DoctorServicesHost.StartAsync(rabbit, Q("accounts"), Q("directory"), Q("orchestrator"));
        var gatewayServices = new ServiceCollection();
        gatewayServices.AddLogging();
        var gatewayBaton = gatewayServices.AddBaton().UseSqlite(o => o.Path = Path.Combine(directory, "gateway.db")).AddRabbitMq(rabbit)
            .AddNestClient("orchestrator", Q("orchestrator")).AddNestClient("echo", Q("echo"));
        gatewayBaton.AddNestServer(Q("echo")).AddNestPattern("bench.echo", (request, _) => Task.FromResult<JsonElement?>(request.Data));
        await using var gatewayProvider = gatewayServices.BuildServiceProvider();
        var hosted = gatewayProvider.GetServices<Microsoft.Extensions.Hosting.IHostedService>().ToList();
        foreach (var service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        var settings = new Dictionary<string, string>
        {
            ["environment"] = "Production", ["contentRoot"] = directory, ["BATON_PORT"] = "0", ["ADMIN_KEY"] = "doctor-bench-key-0001",
            ["RABBITMQ_URL"] = rabbit, ["REDIS_URL"] = redis,
            ["ACCOUNTS_SERVICE_CLIENT_OPTIONS"] = JsonSerializer.Serialize(new { queue = Q("accounts") }),
            ["PROVIDER_DIRECTORY_CLIENT_OPTIONS"] = JsonSerializer.Serialize(new { queue = Q("directory") }),
            ["Baton:Apps:DoctorOnboarding:Enabled"] = "true", ["Baton:Apps:DoctorOnboarding:Queue"] = Q("orchestrator"),
            ["Baton:Demo:Enabled"] = "false", ["Baton:Store:Sqlite:Path"] = Path.Combine(directory, "baton.db"),
        };
        var app = BatonServer.Build([.. settings.Select(p => $"--{p.Key}={p.Value}")], [new DoctorOnboardingApp()],
            (builder, _) => builder.Logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync();
        try
        {
            var echo = gatewayProvider.GetRequiredKeyedService<INestClient>("echo");
            var orchestrator = gatewayProvider.GetRequiredKeyedService<INestClient>("orchestrator");
            var payload = new { id = Guid.NewGuid(), name = "echo", items = new[] { 1, 2, 3 } };
            await PhaseAsync(warmup * 5, concurrency, _ => echo.SendAsync("bench.echo", payload, TimeSpan.FromSeconds(30)));
            // Marks on stderr let a profiler attach to one phase (bench/README: perf with DOTNET_PerfMapEnabled=1).
            Console.Error.WriteLine($"# phase bare, pid {Environment.ProcessId}");
            var bare = await PhaseAsync(requests * 10, concurrency, _ => echo.SendAsync("bench.echo", payload, TimeSpan.FromSeconds(30)));

            await PhaseAsync(warmup, concurrency, i => orchestrator.SendAsync("orchestrator.doctor.create", Doctor($"warm-{run}-{i}"), TimeSpan.FromSeconds(60)));
            Console.Error.WriteLine($"# phase creations, pid {Environment.ProcessId}");
            var creations = await PhaseAsync(requests, concurrency, i => orchestrator.SendAsync("orchestrator.doctor.create", Doctor($"bench-{run}-{i}"), TimeSpan.FromSeconds(60)));

            var ids = services.Simulator.State.Accounts.Select(a => a["id"]!.GetValue<string>()).Take(100).ToList();
            foreach (var id in ids)
            {
                await orchestrator.SendAsync("orchestrator.doctor.getComposite", new { id }, TimeSpan.FromSeconds(30));
            }

            Console.Error.WriteLine($"# phase reads, pid {Environment.ProcessId}");
            await PhaseAsync(warmup * 5, concurrency, i => orchestrator.SendAsync("orchestrator.doctor.getComposite", new { id = ids[i % ids.Count] }, TimeSpan.FromSeconds(30)));
            var reads = await PhaseAsync(requests * 10, concurrency, i => orchestrator.SendAsync("orchestrator.doctor.getComposite", new { id = ids[i % ids.Count] }, TimeSpan.FromSeconds(30)));

            Console.WriteLine();
            Console.WriteLine("| measurement | requests/s | p50 | p99 | ratio of bare request/reply | CPU per request (this process) | allocated per request |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            Console.WriteLine(Row("bare NestJS request/reply (echo, no saga, no cache)", bare, bare));
            Console.WriteLine(Row("doctor creations end to end (saga: 3 steps, 6 service calls)", creations, bare));
            Console.WriteLine(Row("cached composite reads (getComposite, cache hits)", reads, bare));
            Console.WriteLine($"failed: bare {bare.Failed}, creations {creations.Failed}, reads {reads.Failed}");
            return 0;
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            foreach (var service in Enumerable.Reverse(hosted))
            {
                await service.StopAsync(CancellationToken.None);
            }
        }
    }

    private static object Doctor(string name) => new { email = $"{name}@example.org", password = "bench-password", fullName = name, dob = "1980-01-01", profile = new { degree = "MD" } };

    private static string Row(string what, PhaseResult result, PhaseResult bare) =>
        $"| {what} | {result.PerSecond:N0} | {result.P50:N1} ms | {result.P99:N1} ms | {result.PerSecond / bare.PerSecond:P0} of the rate | {result.CpuMicroseconds:N0} µs | {result.AllocatedBytes / 1024.0:N1} KB |";

    // CPU and allocations per request are of this whole process (gateway client, orchestrator, simulators; not the
    // broker or Redis): unlike requests/s they hold on a busy machine.
    private sealed record PhaseResult(double PerSecond, double P50, double P99, int Failed, double CpuMicroseconds, double AllocatedBytes);

    private static async Task<PhaseResult> PhaseAsync(int count, int concurrency, Func<int, Task> send)
    {
        var latencies = new double[count];
        var next = -1;
        var failed = 0;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var allocated = GC.GetTotalAllocatedBytes();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await send(i);
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failed);
                }

                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }));
        var elapsed = clock.Elapsed;
        var cpuPer = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / count;
        var allocatedPer = (GC.GetTotalAllocatedBytes() - allocated) / (double)count;
        Array.Sort(latencies);
        return new PhaseResult(
            count / elapsed.TotalSeconds, latencies[(int)(count * 0.50)], latencies[Math.Min(count - 1, (int)(count * 0.99))], failed, cpuPer, allocatedPer);
    }
}
