using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Baton.Hosting;
using Baton.RabbitMq;
using Baton.RabbitMq.Server;
using Baton.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Baton.Bench;

/// <summary>
/// The bare RabbitMQ request/reply limit through Baton.RabbitMq: an INestClient calling a Nest server in the same process
/// whose handler returns the request's data (no run, no store, no cache), at a fixed number of calls in flight.
/// With <c>--rabbit-run N</c> it also measures N calls of a run-starting pattern (one stored run of a workflow without
/// steps per call on SQLite, answered when the run ends) at the same concurrency.
/// Usage: Baton.Bench --rabbit-rpc N [--rabbit-run N] [--rabbit-concurrency 32] [--rabbit-url amqp://guest:guest@127.0.0.1:5672/]
///                    [--rabbit-prefetch 64] [--rabbit-handlers 16]
/// </summary>
internal static class RabbitRpcBench
{
    public static bool Requested(string[] args, out RabbitRpcSettings settings)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i].TrimStart('-')] = args[i + 1];
        }

        settings = new RabbitRpcSettings(
            int.Parse(values.GetValueOrDefault("rabbit-rpc", "0"), CultureInfo.InvariantCulture),
            int.Parse(values.GetValueOrDefault("rabbit-concurrency", "32"), CultureInfo.InvariantCulture),
            values.GetValueOrDefault("rabbit-url", Environment.GetEnvironmentVariable("BATON_RABBITMQ") ?? "amqp://guest:guest@127.0.0.1:5672/"),
            ushort.Parse(values.GetValueOrDefault("rabbit-prefetch", "64"), CultureInfo.InvariantCulture),
            ushort.Parse(values.GetValueOrDefault("rabbit-handlers", "16"), CultureInfo.InvariantCulture),
            int.Parse(values.GetValueOrDefault("rabbit-run", "0"), CultureInfo.InvariantCulture));
        return settings.Requests > 0;
    }

    public static async Task RunAsync(RabbitRpcSettings settings)
    {
        Console.WriteLine($"# RabbitMQ request/reply (Baton.RabbitMq, bare: in-process handler, no run, no cache) — {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        var queue = $"bench-rpc-{Guid.NewGuid():N}";
        var directory = Path.Combine(Path.GetTempPath(), "baton-bench-rpc-" + Guid.NewGuid().ToString("N")[..8]);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddBaton(o => o.RunScheduler = false)
            .UseSqlite(o => o.Path = Path.Combine(directory, "baton.db"))
            .AddRabbitMq(settings.Url)
            .AddNestClient("bench", queue, o => o.DurableQueue = false)
            .AddNestServer(queue, o =>
            {
                o.DurableQueue = false;
                o.Prefetch = settings.Prefetch;
                o.Concurrency = settings.Handlers;
            })
            .AddNestPattern("bench.echo", (request, _) => Task.FromResult<JsonElement?>(request.Data))
            .AddNestPattern("bench.run", "bench-run", request => new BenchInput(request.Data.GetProperty("doctorId").GetString()!))
            .Baton.AddWorkflow<BenchInput, BenchInput>("bench-run", (_, input, _) => Task.FromResult(input));
        await using var provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().ToList();
        foreach (var service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        await provider.GetRequiredKeyedService<NestServer>(queue).Started;
        var client = provider.GetRequiredKeyedService<INestClient>("bench");
        try
        {
            await MeasureAsync(client, "bench.echo", Math.Min(2000, settings.Requests), settings.Concurrency);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var broker = BrokerCpuSeconds();
            var result = await MeasureAsync(client, "bench.echo", settings.Requests, settings.Concurrency);
            var ownCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
            var brokerCpu = BrokerCpuSeconds() - broker;
            Console.WriteLine();
            Console.WriteLine("| measurement | value |");
            Console.WriteLine("|---|---|");
            Console.WriteLine($"| {settings.Requests:N0} request/reply calls, {settings.Concurrency} in flight | {settings.Requests / result.Elapsed.TotalSeconds:N0} requests/s ({result.Elapsed.TotalSeconds:N2} s) |");
            Console.WriteLine($"| latency (send to reply) | p50 {result.P50:N2} ms, p99 {result.P99:N2} ms, max {result.Max:N2} ms |");
            Console.WriteLine($"| CPU per call | {ownCpu / settings.Requests * 1e6:N0} µs client + server process, {brokerCpu / settings.Requests * 1e6:N0} µs RabbitMQ (beam.smp) |");
            if (settings.RunRequests > 0)
            {
                await MeasureAsync(client, "bench.run", Math.Min(2000, settings.RunRequests), settings.Concurrency);
                var runCpu = Process.GetCurrentProcess().TotalProcessorTime;
                var runs = await MeasureAsync(client, "bench.run", settings.RunRequests, settings.Concurrency);
                var runCpuPerCall = (Process.GetCurrentProcess().TotalProcessorTime - runCpu).TotalSeconds / settings.RunRequests * 1e6;
                var rate = settings.RunRequests / runs.Elapsed.TotalSeconds;
                Console.WriteLine($"| {settings.RunRequests:N0} run-starting calls (one stored run each, SQLite), {settings.Concurrency} in flight | {rate:N0} requests/s = {rate / (settings.Requests / result.Elapsed.TotalSeconds):P0} of the bare rate; p50 {runs.P50:N2} ms, p99 {runs.P99:N2} ms; {runCpuPerCall:N0} µs CPU per call in the process |");
            }
        }
        finally
        {
            for (var i = hosted.Count - 1; i >= 0; i--)
            {
                await hosted[i].StopAsync(CancellationToken.None);
            }

            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // The temp folder is cleaned later.
            }
        }
    }

    private static async Task<(TimeSpan Elapsed, double P50, double P99, double Max)> MeasureAsync(INestClient client, string pattern, int requests, int concurrency)
    {
        var latencies = new double[requests];
        var next = -1;
        var payload = new BenchPayload("d-0001", "Dr. Example", ["cardiology"]);
        var total = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < requests)
            {
                var started = Stopwatch.GetTimestamp();
                await client.SendAsync(pattern, payload with { DoctorId = $"d-{index}" }, TimeSpan.FromSeconds(30));
                latencies[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }));
        total.Stop();
        Array.Sort(latencies);
        return (total.Elapsed, latencies[(int)(requests * 0.50)], latencies[Math.Min(requests - 1, (int)(requests * 0.99))], latencies[^1]);
    }

    // CPU seconds of the RabbitMQ node processes (beam.smp), from /proc; 0 where that cannot be read.
    private static double BrokerCpuSeconds()
    {
        var seconds = 0.0;
        if (!OperatingSystem.IsLinux())
        {
            return seconds;
        }

        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (!int.TryParse(Path.GetFileName(dir), CultureInfo.InvariantCulture, out _) || !File.ReadAllText(Path.Combine(dir, "comm")).StartsWith("beam", StringComparison.Ordinal))
                {
                    continue;
                }

                var fields = File.ReadAllText(Path.Combine(dir, "stat")).Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                // utime and stime are fields 14 and 15 of stat; after the ")" they are the 12th and 13th.
                seconds += (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / 100;
            }
            catch (IOException)
            {
                // The process ended meanwhile.
            }
        }

        return seconds;
    }
}

internal sealed record RabbitRpcSettings(int Requests, int Concurrency, string Url, ushort Prefetch, ushort Handlers, int RunRequests);

internal sealed record BenchPayload(string DoctorId, string FullName, string[] Specialties);

internal sealed record BenchInput(string DoctorId);
