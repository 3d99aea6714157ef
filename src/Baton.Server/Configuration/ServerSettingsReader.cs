using System.Globalization;
using System.Text.Json;
using Baton.Scheduling;
using Baton.Storage;
using Baton.Storage.Sqlite;

namespace Baton.Server.Configuration;

/// <summary>
/// Reads the <c>Baton</c> section and the port variables into <see cref="BatonServerOptions"/>, collecting
/// every problem into one <see cref="BatonConfigurationException"/> so a bad deployment fails at once
/// with a message naming each setting.
/// </summary>
internal static class ServerSettingsReader
{
    public static BatonServerOptions Read(IConfiguration configuration, string contentRoot, bool isDevelopment = false)
    {
        var errors = new List<string>();
        var section = configuration.GetSection("Baton");

        var port = ReadPort(configuration, errors);
        var host = section["Host"] is { Length: > 0 } h ? h.Trim() : "127.0.0.1";
        if (host.Any(c => char.IsWhiteSpace(c) || c is '/' or '?' or '#'))
        {
            errors.Add($"Baton:Host '{host}' is not a host name or address");
        }

        var urls = section["Urls"] is { Length: > 0 } u ? u.Trim() : null;
        if (urls is not null)
        {
            foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
                {
                    errors.Add($"Baton:Urls entry '{url}' must start with http:// or https://");
                }
            }
        }

        var maxBody = ReadLong(section, "MaxRequestBodyBytes", 1024 * 1024, 1, 1L << 30, errors);
        var margin = ReadTimeSpan(section, "ShutdownMargin", TimeSpan.FromSeconds(15), errors);
        var provider = StoreProvider.Sqlite;
        var providerText = configuration["BATON_STORE"] is { Length: > 0 } envStore ? envStore : section["Store:Provider"];
        var providerValid = providerText is not { Length: > 0 }
            || (Enum.TryParse(providerText.Trim(), ignoreCase: true, out provider) && !int.TryParse(providerText, out _));
        if (!providerValid)
        {
            errors.Add($"Baton:Store:Provider (BATON_STORE) '{providerText}' must be sqlite or postgres");
        }

        string? sqlitePath = null;
        string? postgres = null;
        var schema = section["Store:Postgres:Schema"] is { Length: > 0 } sc ? sc.Trim() : "baton";
        if (provider == StoreProvider.Postgres)
        {
            postgres = configuration["BATON_POSTGRES"] is { Length: > 0 } envPg ? envPg : section["Store:Postgres:ConnectionString"];
            if (string.IsNullOrWhiteSpace(postgres))
            {
                errors.Add("the postgres store needs a connection string: set BATON_POSTGRES (or Baton:Store:Postgres:ConnectionString)");
            }
        }
        else
        {
            sqlitePath = ReadStorePath(section, contentRoot, errors);
        }

        var durability = SqliteDurability.ProcessCrashSafe;
        if (section["Store:Sqlite:Durability"] is { Length: > 0 } d
            && (!Enum.TryParse(d.Trim(), ignoreCase: true, out durability) || !Enum.IsDefined(durability) || int.TryParse(d, out _)))
        {
            errors.Add($"Baton:Store:Sqlite:Durability '{d}' must be ProcessCrashSafe or FullSync");
        }
        var metricsKey = ReadBool(section, "Metrics:RequireAdminKey", false, errors);
        var demo = ReadBool(section, "Demo:Enabled", isDevelopment, errors);
        var demoOnStart = ReadBool(section, "Demo:RunOnStart", false, errors);
        var schedules = ReadSchedules(section.GetSection("Schedules"), errors);
        try
        {
            // Only the conversion is checked here; the engine's own validator checks the values at start.
            section.GetSection("Engine").Get<Hosting.BatonOptions>();
        }
        catch (InvalidOperationException ex)
        {
            errors.Add($"Baton:Engine: {ex.Message}");
        }
        var apps = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var app in section.GetSection("Apps").GetChildren())
        {
            if (ReadBool(app, "Enabled", false, errors))
            {
                apps.Add(app.Key);
            }
        }

        if (errors.Count > 0)
        {
            throw new BatonConfigurationException("invalid configuration:" + string.Concat(errors.Select(e => Environment.NewLine + "  - " + e)));
        }

        return new BatonServerOptions
        {
            Port = port,
            Host = host,
            Urls = urls,
            MaxRequestBodyBytes = maxBody,
            ShutdownMargin = margin,
            Store = provider,
            PostgresConnectionString = postgres,
            PostgresSchema = schema,
            SqlitePath = sqlitePath,
            SqliteDurability = durability,
            MetricsRequireAdminKey = metricsKey,
            DemoEnabled = demo,
            DemoRunOnStart = demoOnStart,
            Schedules = schedules,
            EnabledApps = apps,
        };
    }

    private static int ReadPort(IConfiguration configuration, List<string> errors)
    {
        // BATON_PORT wins; ORCHESTRATOR_PORT is seed 000's name for the same thing.
        foreach (var key in new[] { "BATON_PORT", "ORCHESTRATOR_PORT", "Baton:Port" })
        {
            if (configuration[key] is not { Length: > 0 } text)
            {
                continue;
            }

            if (!int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
            {
                errors.Add($"{key} '{text}' is not a port number (0-65535)");
                return 3003;
            }

            return port;
        }

        return 3003;
    }

    private static string? ReadStorePath(IConfigurationSection section, string contentRoot, List<string> errors)
    {
        var configured = section["Store:Sqlite:Path"] is { Length: > 0 } p ? p.Trim() : "data/baton.db";
        if (configured.Contains('\0', StringComparison.Ordinal) || configured.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            errors.Add($"Baton:Store:Sqlite:Path '{configured}' contains characters not allowed in a path");
            return null;
        }

        var full = Path.GetFullPath(configured, contentRoot);
        if (Directory.Exists(full))
        {
            errors.Add($"Baton:Store:Sqlite:Path '{full}' is a directory; give the database file's path (e.g. data/baton.db)");
            return null;
        }

        var directory = Path.GetDirectoryName(full);
        try
        {
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            errors.Add($"Baton:Store:Sqlite:Path '{full}': cannot create its directory ({ex.Message})");
            return null;
        }

        return full;
    }

    private static List<ConfiguredSchedule> ReadSchedules(IConfigurationSection section, List<string> errors)
    {
        var schedules = new List<ConfiguredSchedule>();
        foreach (var child in section.GetChildren())
        {
            var at = $"Baton:Schedules:{child.Key}";
            var workflow = child["Workflow"];
            if (string.IsNullOrWhiteSpace(workflow))
            {
                errors.Add($"{at}:Workflow is required");
            }

            var timeZone = child["TimeZone"] is { Length: > 0 } tz ? tz : "UTC";
            if (!CronSchedule.TryParse(child["Cron"], timeZone, out _, out var cronError))
            {
                errors.Add($"{at}: {cronError}");
            }

            var input = child["Input"] is { Length: > 0 } i ? i : null;
            if (input is not null)
            {
                try
                {
                    using var _ = JsonDocument.Parse(input);
                }
                catch (JsonException ex)
                {
                    errors.Add($"{at}:Input is not JSON text: {ex.Message}");
                }
            }

            var misfire = MisfirePolicy.Skip;
            if (child["Misfire"] is { Length: > 0 } m && !MisfireNames.TryParse(m, out misfire))
            {
                errors.Add($"{at}:Misfire '{m}' must be 'skip' or 'run_once'");
            }

            schedules.Add(new ConfiguredSchedule(child.Key, workflow ?? "", child["Cron"] ?? "", timeZone, input, ReadBool(child, "Enabled", true, errors), misfire));
        }

        return schedules;
    }

    private static bool ReadBool(IConfigurationSection section, string key, bool fallback, List<string> errors)
    {
        if (section[key] is not { Length: > 0 } text)
        {
            return fallback;
        }

        if (bool.TryParse(text.Trim(), out var value))
        {
            return value;
        }

        errors.Add($"{section.Path}:{key} '{text}' must be true or false");
        return fallback;
    }

    private static long ReadLong(IConfigurationSection section, string key, long fallback, long min, long max, List<string> errors)
    {
        if (section[key] is not { Length: > 0 } text)
        {
            return fallback;
        }

        if (long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }

        errors.Add($"{section.Path}:{key} '{text}' must be a whole number from {min} to {max}");
        return fallback;
    }

    private static TimeSpan ReadTimeSpan(IConfigurationSection section, string key, TimeSpan fallback, List<string> errors)
    {
        if (section[key] is not { Length: > 0 } text)
        {
            return fallback;
        }

        if (TimeSpan.TryParse(text.Trim(), CultureInfo.InvariantCulture, out var value) && value >= TimeSpan.Zero)
        {
            return value;
        }

        errors.Add($"{section.Path}:{key} '{text}' must be a non-negative time span (hh:mm:ss)");
        return fallback;
    }
}

/// <summary>The wire names of <see cref="MisfirePolicy"/>: <c>skip</c> and <c>run_once</c>.</summary>
internal static class MisfireNames
{
    public static string ToWireName(this MisfirePolicy policy) => policy == MisfirePolicy.RunOnce ? "run_once" : "skip";

    public static bool TryParse(string? text, out MisfirePolicy policy)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "skip":
                policy = MisfirePolicy.Skip;
                return true;
            case "run_once" or "runonce":
                policy = MisfirePolicy.RunOnce;
                return true;
            default:
                policy = MisfirePolicy.Skip;
                return false;
        }
    }
}
