using System.Globalization;
using Baton.Apps.ReviewGateway.Forwarding;
using Baton.Retries;
using Baton.Server.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.ReviewGateway;

/// <summary>
/// The gateway's settings: the seed's environment variables (<c>PORT</c>, <c>WORKER_NODE_URL</c>,
/// <c>LOG_LEVEL</c>) and the forwarding policy under <c>Baton:Apps:ReviewGateway</c>. Bound by
/// <see cref="Bind"/>, checked at start by <see cref="GatewayOptionsValidator"/>.
/// </summary>
public sealed class GatewayOptions
{
    public const string Section = "Baton:Apps:ReviewGateway";

    /// <summary>Values that did not convert while binding (each kept its default); reported by the validator.</summary>
    internal List<string> BindingErrors { get; } = [];

    /// <summary>The gateway's own listener. From <c>PORT</c>; the default is 8080 (the seed's).</summary>
    public int Port { get; set; } = 8080;

    /// <summary>Where jobs are forwarded (<c>{WorkerUrl}/enqueue</c>). From <c>WORKER_NODE_URL</c>; the default is http://localhost:3000.</summary>
    public Uri WorkerUrl { get; set; } = new("http://localhost:3000");

    /// <summary>The minimum level of the gateway's own log lines. From <c>LOG_LEVEL</c> (trace, debug, info, warn, error, fatal); the default is info.</summary>
    public LogLevel LogLevel { get; set; } = LogLevel.Information;

    /// <summary>Time limit of one forwarding attempt; the attempt is cancelled when it passes. The default is 10 s.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Forwarding attempts in all. The default is 75: with the delays below the last attempt comes
    /// 55 minutes (every delay cut by the full 20 % jitter) to 69 minutes (no jitter) after the first,
    /// so a worker outage of up to about an hour loses nothing. After the last attempt the run is failed
    /// and can be retried through Baton's run API. Delays of at least the engine's RetrySuspendThreshold suspend the run.
    /// </summary>
    public int MaxAttempts { get; set; } = 75;

    /// <summary>
    /// Connections to the worker node held at once (HTTP/1.1, kept alive); forwards beyond it wait for a free one.
    /// The default is 32, instead of one connection per run in flight (up to 256): measured 8–27 %
    /// less gateway CPU per job than no limit (BENCHMARKS.md).
    /// </summary>
    public int MaxConnections { get; set; } = 32;

    /// <summary>Delay before the first retry; doubles per attempt. The default is 1 s.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between attempts. The default is 60 s.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Retry policy of the forwarding attempts: delay before attempt n+1 is
    /// <c>min(MaxDelay, BaseDelay * 2^(n-1))</c> less up to 20 % jitter; 4xx answers
    /// (<see cref="NonRetryableException"/>) are not retried.
    /// </summary>
    public RetryPolicy RetryPolicy => new() { MaxAttempts = MaxAttempts, BaseDelay = BaseDelay, MaxDelay = MaxDelay, JitterFactor = 0.2 };

    /// <summary>The settings as bound from <paramref name="configuration"/>; a value that does not convert keeps its default and is left for the validator to report.</summary>
    public static GatewayOptions Read(IConfiguration configuration)
    {
        var options = new GatewayOptions();
        Bind(options, configuration);
        return options;
    }

    /// <summary>Binds the seed's variables and the section onto <paramref name="options"/>, recording values that do not convert.</summary>
    public static void Bind(GatewayOptions options, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configuration);
        var errors = options.BindingErrors;
        errors.Clear();
        var defaults = new GatewayOptions();
        if (configuration["PORT"] is { Length: > 0 } portText)
        {
            if (int.TryParse(portText.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535)
            {
                options.Port = port;
            }
            else
            {
                errors.Add($"PORT '{portText}' is not a port number (1-65535)");
            }
        }

        if (configuration["WORKER_NODE_URL"] is { Length: > 0 } urlText)
        {
            if (Uri.TryCreate(urlText.Trim().TrimEnd('/'), UriKind.Absolute, out var workerUrl) && workerUrl.Scheme is "http" or "https")
            {
                if (workerUrl.Query.Length > 0 || workerUrl.Fragment.Length > 0)
                {
                    // Jobs go to {WORKER_NODE_URL}/enqueue, as in the seed: after a query or fragment, '/enqueue' is no longer
                    // part of the path, and every job would be posted to the base path.
                    errors.Add(
                        $"WORKER_NODE_URL '{Baton.Diagnostics.UrlText.WithoutPassword(urlText)}' has a query or fragment, so jobs would go to "
                        + $"{Baton.Diagnostics.UrlText.WithoutPassword(WorkerNodeClient.EnqueueUriOf(workerUrl))}; set it to the worker node's base URL (http://host:port, or with a path)");
                }
                else
                {
                    options.WorkerUrl = workerUrl;
                }
            }
            else
            {
                errors.Add($"WORKER_NODE_URL '{Baton.Diagnostics.UrlText.WithoutPassword(urlText)}' is not an http(s) URL");
            }
        }

        options.LogLevel = SettingValues.ReadLogLevel(configuration, "LOG_LEVEL", options.LogLevel, errors);

        var section = configuration.GetSection(Section);
        options.AttemptTimeout = SettingValues.ReadTime(section, Section, "AttemptTimeout", defaults.AttemptTimeout, errors);
        options.BaseDelay = SettingValues.ReadTime(section, Section, "BaseDelay", defaults.BaseDelay, errors);
        options.MaxDelay = SettingValues.ReadTime(section, Section, "MaxDelay", defaults.MaxDelay, errors);
        options.MaxAttempts = SettingValues.ReadWhole(section, Section, "MaxAttempts", defaults.MaxAttempts, 10_000, errors);
        options.MaxConnections = SettingValues.ReadWhole(section, Section, "MaxConnections", defaults.MaxConnections, 1024, errors);
    }

}

/// <summary>Checks <see cref="GatewayOptions"/> at start (<c>ValidateOnStart</c>): values that did not convert, and the delays' order.</summary>
internal sealed class GatewayOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<GatewayOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var errors = new List<string>(options.BindingErrors);
        if (options.MaxDelay < options.BaseDelay)
        {
            errors.Add($"{GatewayOptions.Section}:MaxDelay ({options.MaxDelay}) must not be shorter than BaseDelay ({options.BaseDelay})");
        }

        return errors.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(errors);
    }
}
