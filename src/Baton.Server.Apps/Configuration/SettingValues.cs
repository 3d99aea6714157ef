using System.Globalization;
using Microsoft.Extensions.Configuration;

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

    /// <summary>A positive time span (<c>hh:mm:ss</c>), or <paramref name="fallback"/> when the key is absent or empty.</summary>
    public static TimeSpan ReadTime(IConfigurationSection section, string sectionName, string key, TimeSpan fallback, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(errors);
        if (section[key] is not { Length: > 0 } text)
        {
            return fallback;
        }

        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) && value > TimeSpan.Zero)
        {
            return value;
        }

        errors.Add($"{sectionName}:{key} '{text}' must be a positive time span (hh:mm:ss)");
        return fallback;
    }
}
