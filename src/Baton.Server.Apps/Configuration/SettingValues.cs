using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Baton.Server.Configuration;

/// <summary>
/// Reads an app's numeric and time settings from its configuration section: a value that does not convert keeps the
/// fallback and adds a message naming <c>{section}:{key}</c> to <c>errors</c>, for the app to refuse to start with.
/// </summary>
public static class SettingValues
{
    /// <summary>A whole number from 1 to <paramref name="max"/>, or <paramref name="fallback"/> when the key is absent or empty.</summary>
    public static int ReadWhole(IConfigurationSection section, string sectionName, string key, int fallback, int max, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(errors);
        if (section[key] is not { Length: > 0 } text)
        {
            return fallback;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 1 && value <= max)
        {
            return value;
        }

        errors.Add($"{sectionName}:{key} '{text}' must be a whole number from 1 to {max}");
        return fallback;
    }

    /// <summary>The longest time <see cref="ReadTime"/> takes: one day (the apps' timeouts and delays).</summary>
    public static readonly TimeSpan MaxTime = TimeSpan.FromDays(1);

    /// <summary>A positive time span (<c>hh:mm:ss</c>) of at most <see cref="MaxTime"/>, or <paramref name="fallback"/> when the key is absent or empty.</summary>
    public static TimeSpan ReadTime(IConfigurationSection section, string sectionName, string key, TimeSpan fallback, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(errors);
        if (section[key] is not { Length: > 0 } text)
        {
            return fallback;
        }

        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) && value > TimeSpan.Zero && value <= MaxTime)
        {
            return value;
        }

        // A bare number is days to TimeSpan ("10" is 10 days, and a timer of 50 days or more throws): say how it was read.
        errors.Add(value > MaxTime
            ? $"{sectionName}:{key} '{text}' must be a time span above 0 and at most {MaxTime:c} (hh:mm:ss); it was read as {value:c}"
            : $"{sectionName}:{key} '{text}' must be a positive time span (hh:mm:ss)");
        return fallback;
    }

    /// <summary>
    /// A seed's log level (<c>LOG_LEVEL</c>): trace, debug, info, warn, error or fatal, in any case (information, warning
    /// and critical too). The apps that read one variable read it alike: a value one accepted stopped another.
    /// </summary>
    public static LogLevel ReadLogLevel(IConfiguration configuration, string key, LogLevel fallback, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(errors);
        if (configuration[key] is not { Length: > 0 } text)
        {
            return fallback;
        }

        var level = text.Trim().ToUpperInvariant() switch
        {
            "TRACE" => LogLevel.Trace,
            "DEBUG" => LogLevel.Debug,
            "INFO" or "INFORMATION" => LogLevel.Information,
            "WARN" or "WARNING" => LogLevel.Warning,
            "ERROR" => LogLevel.Error,
            "FATAL" or "CRITICAL" => LogLevel.Critical,
            _ => LogLevel.None,
        };
        if (level == LogLevel.None)
        {
            errors.Add($"{key} '{text}' must be trace, debug, info, warn, error or fatal");
            return fallback;
        }

        return level;
    }
}
