using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Baton.Apps.BrandInsights;

/// <summary>
/// The app's settings: seed 001's environment variables (<c>REDIS_URL</c>, <c>ORCHESTRATOR_ID</c>,
/// <c>CONCURRENCY_LIMIT</c>, <c>HTTP_PORT</c>, <c>PROMETHEUS_PORT</c>, <c>MERGE_SIMILARITY_THRESHOLD</c>,
/// <c>MAX_RETRIES</c>, <c>RETRY_BACKOFF_BASE</c>, <c>BRAND_REFRESH_INTERVAL_SEC</c>, <c>CHUNK_FETCH_TIMEOUT_SEC</c>,
/// <c>LOG_LEVEL</c>) with the seed's defaults, and Baton's own under <c>Baton:Apps:BrandInsights</c>. Bound by
/// <see cref="Bind"/>, checked at start by <see cref="BrandInsightsOptionsValidator"/>.
/// </summary>
public sealed class BrandInsightsOptions
{
    public const string Section = "Baton:Apps:BrandInsights";

    /// <summary>Values that did not convert while binding (each kept its default); reported by the validator.</summary>
    internal List<string> BindingErrors { get; } = [];

    /// <summary>The Redis server. From <c>REDIS_URL</c> (<c>redis://[:password@]host:port[/db]</c>); the default is redis://localhost:6379.</summary>
    public string RedisUrl { get; set; } = "redis://localhost:6379";

    /// <summary>This process's name in /health and in its Redis processing lists. From <c>ORCHESTRATOR_ID</c>; the default is <c>orchestrator-</c> and 8 random hex digits.</summary>
    public string OrchestratorId { get; set; } = "orchestrator-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));

    /// <summary>Whether <c>ORCHESTRATOR_ID</c> was set (it then also names this process's Redis processing lists).</summary>
    internal bool OrchestratorIdConfigured { get; set; }

    /// <summary>Brand lists read at the same time by this process. From <c>CONCURRENCY_LIMIT</c>; the default is 5.</summary>
    public int ConcurrencyLimit { get; set; } = 5;

    /// <summary>The port of <c>GET /health</c>. From <c>HTTP_PORT</c>; the default is 9000.</summary>
    public int HttpPort { get; set; } = 9000;

    /// <summary>The port of <c>GET /metrics</c> (Prometheus text). From <c>PROMETHEUS_PORT</c>; the default is 9001.</summary>
    public int PrometheusPort { get; set; } = 9001;

    /// <summary>Cosine similarity (0 to 1) at or above which two cluster centroids merge. From <c>MERGE_SIMILARITY_THRESHOLD</c>; the default is 0.75.</summary>
    public double MergeSimilarityThreshold { get; set; } = 0.75;

    /// <summary>Retries of a failed merge (attempts = retries + 1). From <c>MAX_RETRIES</c>; the default is 3.</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>Base of the retry backoff: the delay before retry n is base × 2^(n−1). From <c>RETRY_BACKOFF_BASE</c> (seconds); the default is 2 s.</summary>
    public TimeSpan RetryBackoffBase { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often <c>brands:list</c> is read again. From <c>BRAND_REFRESH_INTERVAL_SEC</c>; the default is 30 s.</summary>
    public TimeSpan BrandRefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time limit of one merge attempt (its Redis reads and the write); the attempt is cancelled when it passes. From <c>CHUNK_FETCH_TIMEOUT_SEC</c>; the default is 30 s.</summary>
    public TimeSpan ChunkFetchTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The minimum level of the app's own log lines. From <c>LOG_LEVEL</c> (trace, debug, info, warn, error, fatal); the default is info.</summary>
    public LogLevel LogLevel { get; set; } = LogLevel.Information;

    /// <summary>Time to live of <c>summary:brand:&lt;brand&gt;</c>, or null for none. The default is none: the summary is rebuilt from every chunk ever merged, so it never goes stale.</summary>
    public TimeSpan? SummaryTtl { get; set; }

    /// <summary>Chunks moved from a brand's list per batch (one run and one summary write per batch). The default is 200.</summary>
    public int BatchSize { get; set; } = 200;

    /// <summary>Largest chunk payload accepted, in UTF-8 bytes; a larger one is dead-lettered. The default is 1 MiB.</summary>
    public int MaxChunkBytes { get; set; } = 1024 * 1024;

    /// <summary>Chunk summaries kept in the summary's <c>chunkSummaries</c> (the latest ones). The default is 20.</summary>
    public int MaxChunkSummaries { get; set; } = 20;

    /// <summary>The Development demo: the brand-workers generator feeds a few brands when Redis answers. The default is on in Development only.</summary>
    public bool? DemoEnabled { get; set; }

    /// <summary>
    /// How long a brand's lease outlives the last refresh of its holder: two refresh intervals plus 40 s, longer than
    /// the transport's dead-consumer recovery (30 s heartbeat time to live + 5 s check), so a crashed holder's items are
    /// back at the head of the list before another process takes the brand over.
    /// </summary>
    public TimeSpan BrandLeaseTtl => BrandRefreshInterval * 2 + TimeSpan.FromSeconds(40);

    /// <summary>
    /// The longest delay between two attempts of a merge: base × 2^(n−1) reaches it only after centuries of retries, and a
    /// longer one no longer fits a <see cref="TimeSpan"/> (MAX_RETRIES=40 with the default base: the server did not start).
    /// </summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromDays(36_500);

    /// <summary>
    /// The retry policy of the merge step: <see cref="MaxRetries"/> retries, delay base × 2^(n−1), no jitter (the seed's
    /// formula), at most <see cref="MaxRetryDelay"/>.
    /// </summary>
    public Retries.RetryPolicy RetryPolicy
    {
        get
        {
            var longest = Math.Pow(2, Math.Max(0, MaxRetries - 1));
            return new()
            {
                MaxAttempts = MaxRetries + 1,
                BaseDelay = RetryBackoffBase,
                MaxDelay = RetryBackoffBase.TotalDays * longest < MaxRetryDelay.TotalDays ? RetryBackoffBase * longest : MaxRetryDelay,
                JitterFactor = 0,
            };
        }
    }

    /// <summary>The settings as bound from <paramref name="configuration"/>; a value that does not convert keeps its default and is left for the validator.</summary>
    public static BrandInsightsOptions Read(IConfiguration configuration)
    {
        var options = new BrandInsightsOptions();
        Bind(options, configuration);
        return options;
    }

    /// <summary>Binds the seed's variables and the section onto <paramref name="options"/>, recording values that do not convert.</summary>
    public static void Bind(BrandInsightsOptions options, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configuration);
        var errors = options.BindingErrors;
        errors.Clear();
        var reader = new SettingReader(configuration, errors);
        if (configuration["REDIS_URL"] is { Length: > 0 } url)
        {
            options.RedisUrl = url.Trim();
        }

        if (configuration["ORCHESTRATOR_ID"] is { Length: > 0 } id)
        {
            options.OrchestratorId = id.Trim();
            options.OrchestratorIdConfigured = true;
        }

        options.ConcurrencyLimit = reader.Whole("CONCURRENCY_LIMIT", options.ConcurrencyLimit, 1, 1000);
        options.HttpPort = reader.Whole("HTTP_PORT", options.HttpPort, 1, 65535);
        options.PrometheusPort = reader.Whole("PROMETHEUS_PORT", options.PrometheusPort, 1, 65535);
        options.MergeSimilarityThreshold = reader.Fraction("MERGE_SIMILARITY_THRESHOLD", options.MergeSimilarityThreshold);
        options.MaxRetries = reader.Whole("MAX_RETRIES", options.MaxRetries, 0, 100);
        options.RetryBackoffBase = reader.Seconds("RETRY_BACKOFF_BASE", options.RetryBackoffBase);
        options.BrandRefreshInterval = reader.Seconds("BRAND_REFRESH_INTERVAL_SEC", options.BrandRefreshInterval);
        options.ChunkFetchTimeout = reader.Seconds("CHUNK_FETCH_TIMEOUT_SEC", options.ChunkFetchTimeout);
        options.LogLevel = reader.Level("LOG_LEVEL", options.LogLevel);

        var section = Section + ":";
        if (configuration[section + "SummaryTtl"] is { Length: > 0 })
        {
            options.SummaryTtl = reader.Seconds(section + "SummaryTtl", TimeSpan.Zero) is { Ticks: > 0 } ttl ? ttl : null;
        }

        options.BatchSize = reader.Whole(section + "BatchSize", options.BatchSize, 1, 1000);
        options.MaxChunkBytes = reader.Whole(section + "MaxChunkBytes", options.MaxChunkBytes, 1024, 64 * 1024 * 1024);
        options.MaxChunkSummaries = reader.Whole(section + "MaxChunkSummaries", options.MaxChunkSummaries, 0, 10_000);
        if (configuration[section + "Demo:Enabled"] is { Length: > 0 } demo)
        {
            if (bool.TryParse(demo.Trim(), out var on))
            {
                options.DemoEnabled = on;
            }
            else
            {
                errors.Add($"{section}Demo:Enabled '{demo}' must be true or false");
            }
        }
    }

    private sealed class SettingReader(IConfiguration configuration, List<string> errors)
    {
        public int Whole(string key, int fallback, int min, int max)
        {
            if (configuration[key] is not { Length: > 0 } text)
            {
                return fallback;
            }

            if (int.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
            {
                return value;
            }

            errors.Add($"{key} '{text}' must be a whole number from {min} to {max}");
            return fallback;
        }

        public double Fraction(string key, double fallback)
        {
            if (configuration[key] is not { Length: > 0 } text)
            {
                return fallback;
            }

            if (double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value is >= 0 and <= 1)
            {
                return value;
            }

            errors.Add($"{key} '{text}' must be a number from 0 to 1");
            return fallback;
        }

        /// <summary>
        /// Seconds as the seed writes them (a number, fractions allowed), kept to the millisecond: from 0.001 to a day. A
        /// value that came to 0 ms was taken (0.0004 was above 0): no backoff between retries, no pause between reads of
        /// brands:list, a zero time limit, a summary kept without TTL (review 61).
        /// </summary>
        public TimeSpan Seconds(string key, TimeSpan fallback)
        {
            if (configuration[key] is not { Length: > 0 } text)
            {
                return fallback;
            }

            if (double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value <= 86_400
                && Math.Round(value * 1000) >= 1)
            {
                return TimeSpan.FromMilliseconds(Math.Round(value * 1000));
            }

            errors.Add($"{key} '{text}' must be a number of seconds from 0.001 to 86400");
            return fallback;
        }

        public LogLevel Level(string key, LogLevel fallback) => Baton.Server.Configuration.SettingValues.ReadLogLevel(configuration, key, fallback, errors);
    }
}

/// <summary>Checks <see cref="BrandInsightsOptions"/> at start (<c>ValidateOnStart</c>): values that did not convert, the Redis URL, the two ports.</summary>
internal sealed class BrandInsightsOptionsValidator : IValidateOptions<BrandInsightsOptions>
{
    public ValidateOptionsResult Validate(string? name, BrandInsightsOptions options)
    {
        var errors = new List<string>(options.BindingErrors);
        if (RedisUrlProblem(options.RedisUrl) is { } problem)
        {
            errors.Add(problem);
        }

        if (options.HttpPort == options.PrometheusPort)
        {
            errors.Add($"HTTP_PORT and PROMETHEUS_PORT are both {options.HttpPort}; they must differ");
        }

        if (options.OrchestratorId.Length > 100 || options.OrchestratorId.Any(char.IsWhiteSpace))
        {
            errors.Add("ORCHESTRATOR_ID must be at most 100 characters without spaces");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>
    /// Why <paramref name="url"/> cannot be used (naming <c>REDIS_URL</c>), or null. The transport's own parser, so the app
    /// refuses exactly what AddRedis would; its messages never hold the password.
    /// </summary>
    internal static string? RedisUrlProblem(string url)
    {
        try
        {
            Baton.Redis.RedisConfiguration.Parse(url);
            return null;
        }
        catch (ArgumentException e)
        {
            return $"REDIS_URL is not usable: {e.Message.Split(" (Parameter", 2)[0]}";
        }
    }
}
