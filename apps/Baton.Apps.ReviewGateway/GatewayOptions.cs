using System.Globalization;
using Baton.Retries;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.ReviewGateway;

/// <summary>
/// The gateway's settings: the seed's environment variables (<c>PORT</c>, <c>WORKER_NODE_URL</c>,
/// <c>LOG_LEVEL</c>) and the forwarding policy under <c>Baton:Apps:ReviewGateway</c>.
/// </summary>
public sealed record GatewayOptions
{
    public const string Section = "Baton:Apps:ReviewGateway";

    /// <summary>The gateway's own listener. From <c>PORT</c>; the default is 8080 (the seed's).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>Where jobs are forwarded (<c>{WorkerUrl}/enqueue</c>). From <c>WORKER_NODE_URL</c>; the default is http://localhost:3000.</summary>
    public Uri WorkerUrl { get; init; } = new("http://localhost:3000");

    /// <summary>The minimum level of the gateway's own log lines. From <c>LOG_LEVEL</c> (debug, info, warn, error); the default is info.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>Time limit of one forwarding attempt; the attempt is cancelled when it passes. The default is 10 s.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Forwarding attempts in all. The default is 75: with the delays below the last attempt comes
    /// 55 minutes (every delay cut by the full 20 % jitter) to 69 minutes (no jitter) after the first,
    /// so a worker outage of up to about an hour loses nothing. After the last attempt the run is failed
    /// and can be retried through Baton's run API. Delays past the engine's SuspendThreshold suspend the run.
    /// </summary>
    public int MaxAttempts { get; init; } = 75;

    /// <summary>
    /// Connections to the worker node held at once (HTTP/1.1, kept alive); forwards beyond it wait for a free one.
    /// The default is 32, instead of one connection per run in flight (up to 256): measured 8–27 %
    /// less gateway CPU per job than no limit (BENCHMARKS.md).
    /// </summary>
    public int MaxConnections { get; init; } = 32;

    /// <summary>Delay before the first retry; doubles per attempt. The default is 1 s.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between attempts. The default is 60 s.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Retry policy of the forwarding attempts: delay before attempt n+1 is
    /// <c>min(MaxDelay, BaseDelay * 2^(n-1))</c> less up to 20 % jitter; 4xx answers
    /// (<see cref="NonRetryableException"/>) are not retried.
    /// </summary>
    public RetryPolicy RetryPolicy => new() { MaxAttempts = MaxAttempts, BaseDelay = BaseDelay, MaxDelay = MaxDelay, JitterFactor = 0.2 };

    /// <summary>Reads and checks the settings; throws <see cref="ArgumentException"/> naming every bad one.</summary>
    public static GatewayOptions Read(IConfiguration configuration)
    {
        var errors = new List<string>();
        var defaults = new GatewayOptions();
        var port = defaults.Port;
        if (configuration["PORT"] is { Length: > 0 } portText
            && (!int.TryParse(portText.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            errors.Add($"PORT '{portText}' is not a port number (1-65535)");
        }

        var workerUrl = defaults.WorkerUrl;
        if (configuration["WORKER_NODE_URL"] is { Length: > 0 } urlText
            && (!Uri.TryCreate(urlText.Trim().TrimEnd('/'), UriKind.Absolute, out workerUrl!) || workerUrl.Scheme is not ("http" or "https")))
        {
            errors.Add($"WORKER_NODE_URL '{urlText}' is not an http(s) URL");
        }

        var level = defaults.LogLevel;
        if (configuration["LOG_LEVEL"] is { Length: > 0 } levelText)
        {
            level = levelText.Trim().ToUpperInvariant() switch
            {
                "TRACE" => LogLevel.Trace,
                "DEBUG" => LogLevel.Debug,
                "INFO" or "INFORMATION" => LogLevel.Information,
                "WARN" or "WARNING" => LogLevel.Warning,
                "ERROR" => LogLevel.Error,
                _ => LogLevel.None,
            };
            if (level == LogLevel.None)
            {
                errors.Add($"LOG_LEVEL '{levelText}' must be debug, info, warn or error");
            }
        }

        var section = configuration.GetSection(Section);
        var timeout = ReadTime(section, "AttemptTimeout", defaults.AttemptTimeout, errors);
        var baseDelay = ReadTime(section, "BaseDelay", defaults.BaseDelay, errors);
        var maxDelay = ReadTime(section, "MaxDelay", defaults.MaxDelay, errors);
        var attempts = ReadWhole(section, "MaxAttempts", defaults.MaxAttempts, 10_000, errors);
        var connections = ReadWhole(section, "MaxConnections", defaults.MaxConnections, 1024, errors);
        if (maxDelay < baseDelay)
        {
            errors.Add($"{Section}:MaxDelay ({maxDelay}) must not be shorter than BaseDelay ({baseDelay})");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors));
        }

        return new GatewayOptions
        {
            Port = port,
            WorkerUrl = workerUrl,
            LogLevel = level,
            AttemptTimeout = timeout,
            BaseDelay = baseDelay,
            MaxDelay = maxDelay,
            MaxAttempts = attempts,
            MaxConnections = connections,
        };
    }

    private static int ReadWhole(IConfigurationSection section, string key, int fallback, int max, List<string> errors)
    {
        if (section[key] is not { Length: > 0 } text)
        {
            return fallback;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 1 && value <= max)
        {
            return value;
        }

        errors.Add($"{Section}:{key} '{text}' must be a whole number from 1 to {max}");
        return fallback;
    }

    private static TimeSpan ReadTime(IConfigurationSection section, string key, TimeSpan fallback, List<string> errors)
    {
        if (section[key] is not { Length: > 0 } text)
        {
            return fallback;
        }

        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) && value > TimeSpan.Zero)
        {
            return value;
        }

        errors.Add($"{Section}:{key} '{text}' must be a positive time span (hh:mm:ss)");
        return fallback;
    }
}
