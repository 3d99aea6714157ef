using System.Diagnostics;
using System.Globalization;
using Baton.Redis;
using StackExchange.Redis;

namespace Baton.Simulators.BrandWorkers;

/// <summary>
/// <c>brand-workers</c>: the worker nodes of seed 001. Pushes generated chunk results
/// (<c>RPUSH result:brand:{brand}:chunks '{json}'</c>) for N brands and registers the brands in <c>brands:list</c>; or,
/// with <c>--verify</c>, computes each brand's expected summary from the same settings and compares it with
/// <c>summary:brand:{brand}</c>.
/// Options: --redis (URL or host:port; default REDIS_URL or redis://localhost:6379), --brands 5, --chunks 1000 (in
/// all), --rate 0 (chunks/s; 0 = as fast as possible, pipelined), --bad 0, --duplicates 0, --seed 1, --brand-prefix
/// brand-, --list (brands:list as a Redis list instead of a set), --timestamps FILE (chunkId, brand, push time in
/// Unix ms per push), --threshold 0.75 (for --verify), --max-chunk-summaries N (for --verify: expect only the latest N
/// chunk summaries, for an app that keeps a bounded list; default all), --verify.
/// </summary>
public static class BrandWorkersSimulator
{
    public static string ChunksKey(string brand) => $"result:brand:{brand}:chunks";

    public static string SummaryKey(string brand) => $"summary:brand:{brand}";

    public const string BrandsKey = "brands:list";

    public static async Task<int> RunAsync(string[] args)
    {
        Dictionary<string, string> options;
        try
        {
            options = Parse(args);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"brand-workers: {ex.Message}");
            return 2;
        }

        var settings = new BrandChunkSettings
        {
            Brands = Int(options, "brands", 5),
            Chunks = Int(options, "chunks", 1000),
            Bad = Double(options, "bad", 0),
            Duplicates = Double(options, "duplicates", 0),
            Seed = Int(options, "seed", 1),
            BrandPrefix = options.GetValueOrDefault("brand-prefix", "brand-"),
        };
        var redisText = options.GetValueOrDefault("redis") ?? Environment.GetEnvironmentVariable("REDIS_URL") ?? "redis://localhost:6379";
        await using var redis = await ConnectionMultiplexer.ConnectAsync(RedisConfiguration.Parse(redisText));
        var db = redis.GetDatabase();
        var generator = new BrandChunkGenerator(settings);
        if (options.ContainsKey("verify"))
        {
            return await VerifyAsync(
                db, generator, Double(options, "threshold", 0.75), options.ContainsKey("max-chunk-summaries") ? Int(options, "max-chunk-summaries", 0) : null);
        }

        await RegisterBrandsAsync(db, generator.BrandNames, options.ContainsKey("list"));
        var pushed = await PushAsync(db, generator, Double(options, "rate", 0), options.GetValueOrDefault("timestamps"));
        Console.WriteLine($"pushed {pushed.Total} ({pushed.Valid} valid, {pushed.Bad} bad, {pushed.Duplicates} duplicates) for {settings.Brands} brands in {pushed.Elapsed.TotalSeconds:F2} s");
        return 0;
    }

    /// <summary>Adds the brands to <c>brands:list</c>: a set (SADD), or with <paramref name="asList"/> a list (RPUSH of those not in it yet).</summary>
    public static async Task RegisterBrandsAsync(IDatabase db, IReadOnlyList<string> brands, bool asList)
    {
        if (!asList)
        {
            await db.SetAddAsync(BrandsKey, [.. brands.Select(b => (RedisValue)b)]);
            return;
        }

        var present = (await db.ListRangeAsync(BrandsKey)).Select(v => (string)v!).ToHashSet(StringComparer.Ordinal);
        var missing = brands.Where(b => !present.Contains(b)).Select(b => (RedisValue)b).ToArray();
        if (missing.Length > 0)
        {
            await db.ListRightPushAsync(BrandsKey, missing);
        }
    }

    /// <summary>What a push run did.</summary>
    public sealed record PushResult(int Total, int Valid, int Bad, int Duplicates, TimeSpan Elapsed);

    /// <summary>
    /// Pushes every chunk of <paramref name="generator"/>: at <paramref name="rate"/> chunks/s, or as fast as possible when
    /// 0; pipelined either way (up to 1,000 pushes in flight). Writes "chunkId brand unixMs" per push (the time the RPUSH
    /// was sent) to <paramref name="timestampsFile"/> when set.
    /// </summary>
    public static async Task<PushResult> PushAsync(IDatabase db, BrandChunkGenerator generator, double rate = 0, string? timestampsFile = null)
    {
        await using var timestamps = timestampsFile is null ? null : new StreamWriter(timestampsFile);
        var watch = Stopwatch.StartNew();
        var inFlight = new List<Task>(1000);
        int total = 0, valid = 0, bad = 0, duplicates = 0;
        foreach (var push in generator.Pushes())
        {
            if (rate > 0)
            {
                // Paced, still pipelined: sleep only when at least a millisecond ahead of the schedule.
                var ahead = TimeSpan.FromSeconds(total / rate) - watch.Elapsed;
                if (ahead >= TimeSpan.FromMilliseconds(1))
                {
                    await Task.WhenAll(inFlight);
                    inFlight.Clear();
                    await Task.Delay(ahead);
                }
            }

            inFlight.Add(db.ListRightPushAsync(ChunksKey(push.Brand), push.Payload));
            timestamps?.WriteLine($"{push.ChunkId}\t{push.Brand}\t{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}");
            total++;
            switch (push.Kind)
            {
                case ChunkKind.Valid: valid++; break;
                case ChunkKind.Bad: bad++; break;
                default: duplicates++; break;
            }

            if (inFlight.Count >= 1000)
            {
                await Task.WhenAll(inFlight);
                inFlight.Clear();
            }
        }

        await Task.WhenAll(inFlight);
        return new PushResult(total, valid, bad, duplicates, watch.Elapsed);
    }

    /// <summary>The expected summary of every brand of <paramref name="generator"/>, computed from its pushes in order.</summary>
    public static IReadOnlyDictionary<string, ExpectedBrandSummary> Expected(BrandChunkGenerator generator, double threshold = 0.75)
    {
        var calculators = generator.BrandNames.ToDictionary(b => b, b => new BrandSummaryCalculator(b, threshold), StringComparer.Ordinal);
        foreach (var push in generator.Pushes())
        {
            calculators[push.Brand].Add(push.Payload);
        }

        return calculators.ToDictionary(c => c.Key, c => c.Value.Result(), StringComparer.Ordinal);
    }

    /// <summary>
    /// Prints per brand "MATCH" or "DIFF {first difference}"; 0 when all match. <paramref name="maxChunkSummaries"/>:
    /// expect only the latest that many chunk summaries (an app that keeps a bounded list), null for all.
    /// </summary>
    public static async Task<int> VerifyAsync(IDatabase db, BrandChunkGenerator generator, double threshold = 0.75, int? maxChunkSummaries = null)
    {
        var mismatches = 0;
        foreach (var (brand, all) in Expected(generator, threshold))
        {
            var expected = maxChunkSummaries is { } max ? all with { ChunkSummaries = [.. all.ChunkSummaries.TakeLast(max)] } : all;
            var stored = await db.StringGetAsync(SummaryKey(brand));
            var difference = stored.IsNull ? "no summary stored" : BrandSummaryComparer.FirstDifference(expected, (string)stored!);
            if (difference is null)
            {
                Console.WriteLine($"MATCH {brand} ({expected.TotalChunks} chunks)");
            }
            else
            {
                mismatches++;
                Console.WriteLine($"DIFF {brand}: {difference}");
            }
        }

        Console.WriteLine(mismatches == 0 ? "all summaries match" : $"{mismatches} of {generator.BrandNames.Count} summaries differ");
        return mismatches == 0 ? 0 : 1;
    }

    private static Dictionary<string, string> Parse(string[] args)
    {
        string[] flags = ["list", "verify"];
        string[] valued = ["redis", "brands", "chunks", "rate", "bad", "duplicates", "seed", "brand-prefix", "timestamps", "threshold", "max-chunk-summaries"];
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i].StartsWith("--", StringComparison.Ordinal) ? args[i][2..] : throw new ArgumentException($"unexpected argument '{args[i]}'");
            if (flags.Contains(name))
            {
                options[name] = "true";
            }
            else if (valued.Contains(name) && i + 1 < args.Length)
            {
                options[name] = args[++i];
            }
            else
            {
                throw new ArgumentException($"unknown option or missing value: --{name} (options: {string.Join(", ", valued.Concat(flags).Select(o => "--" + o))})");
            }
        }

        return options;
    }

    private static int Int(Dictionary<string, string> options, string name, int fallback) =>
        options.TryGetValue(name, out var text) ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    private static double Double(Dictionary<string, string> options, string name, double fallback) =>
        options.TryGetValue(name, out var text) ? double.Parse(text, CultureInfo.InvariantCulture) : fallback;
}
