using System.Globalization;
using Baton.Scheduling;
using Baton.Storage;
using Baton.Storage.Postgres;
using Baton.Storage.Sqlite;

namespace Baton.Server.Configuration;

/// <summary>
/// Binds the <c>Baton</c> section and the seeds' variables (<c>BATON_PORT</c>, <c>ORCHESTRATOR_PORT</c>,
/// <c>BATON_STORE</c>, <c>BATON_POSTGRES</c>) onto <see cref="BatonServerOptions"/>. A value that does not
/// convert keeps its default and is recorded in <see cref="BatonServerOptions.BindingErrors"/>; the
/// <see cref="BatonServerOptionsValidator"/> reports those with every other problem at start.
/// </summary>
internal static class ServerSettingsReader
{
    public static void Bind(BatonServerOptions options, IConfiguration configuration, string contentRoot, bool isDevelopment)
    {
        var errors = options.BindingErrors;
        errors.Clear();
        var section = configuration.GetSection("Baton");

        options.Port = ReadPort(configuration, errors);
        if (configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] is { Length: > 0 } otlp
            && !(Uri.TryCreate(otlp.Trim(), UriKind.Absolute, out var otlpUri) && otlpUri.Scheme is "http" or "https"))
        {
            // Before: the exporter took no endpoint from it and exported nothing, without a word.
            errors.Add($"OTEL_EXPORTER_OTLP_ENDPOINT '{Baton.Diagnostics.UrlText.WithoutPassword(otlp)}' is not an http(s) URL (e.g. http://127.0.0.1:4318)");
        }

        options.Host = section["Host"] is { Length: > 0 } h ? h.Trim() : "127.0.0.1";
        options.Urls = section["Urls"] is { Length: > 0 } u ? u.Trim() : null;
        options.MaxRequestBodyBytes = ReadLong(section, "MaxRequestBodyBytes", 1024 * 1024, 1, 1L << 30, errors);
        options.ShutdownMargin = ReadTimeSpan(section, "ShutdownMargin", TimeSpan.FromSeconds(15), errors, TimeSpan.Zero, TimeSpan.FromHours(1));
        options.RequestTimeout = ReadTimeSpan(section, "RequestTimeout", TimeSpan.FromSeconds(10), errors, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        var provider = StoreProvider.Sqlite;
        var providerText = configuration["BATON_STORE"] is { Length: > 0 } envStore ? envStore : section["Store:Provider"];
        var providerValid = providerText is not { Length: > 0 }
            || (Enum.TryParse(providerText.Trim(), ignoreCase: true, out provider) && !int.TryParse(providerText, out _));
        if (!providerValid)
        {
            errors.Add($"Baton:Store:Provider (BATON_STORE) '{providerText}' must be sqlite or postgres");
            // Enum.TryParse read '1' as postgres: then the report also asked for a connection string nobody meant to give.
            provider = StoreProvider.Sqlite;
        }

        options.Store = provider;
        options.PostgresSchema = section["Store:Postgres:Schema"] is { Length: > 0 } sc ? sc.Trim() : "baton";
        options.PostgresWriterConnections = (int)ReadLong(section, "Store:Postgres:WriterConnections", 1, 1, PostgresStoreOptions.MaxWriterConnections, errors);
        options.PostgresConnectionString = null;
        options.SqlitePath = null;
        if (provider == StoreProvider.Postgres)
        {
            options.PostgresConnectionString = configuration["BATON_POSTGRES"] is { Length: > 0 } envPg ? envPg : section["Store:Postgres:ConnectionString"];
        }
        else
        {
            options.SqlitePath = ReadStorePath(section, contentRoot, errors);
        }

        var durability = SqliteDurability.ProcessCrashSafe;
        if (section["Store:Sqlite:Durability"] is { Length: > 0 } d
            && (!Enum.TryParse(d.Trim(), ignoreCase: true, out durability) || !Enum.IsDefined(durability) || int.TryParse(d, out _)))
        {
            errors.Add($"Baton:Store:Sqlite:Durability '{d}' must be ProcessCrashSafe or FullSync");
            durability = SqliteDurability.ProcessCrashSafe;
        }

        options.SqliteDurability = durability;
        if (provider == StoreProvider.Sqlite && section["Store:Sqlite:ReadOnly"] is { Length: > 0 } readOnly
            && !(bool.TryParse(readOnly.Trim(), out var isReadOnly) && !isReadOnly))
        {
            // SqliteStoreOptions.ReadOnly is for another process that reads the server's file: a server opened so started,
            // said it was ready, and failed every write with a bare 500.
            errors.Add($"Baton:Store:Sqlite:ReadOnly '{readOnly}' is not a server setting: the server writes its store (ReadOnly is for another process reading the file)");
        }
        options.DataProtectionKeysPath = section["DataProtection:KeysPath"] is { Length: > 0 } keys ? ReadPath("Baton:DataProtection:KeysPath", keys.Trim(), contentRoot, errors) : null;
        options.MetricsRequireAdminKey = ReadBool(section, "Metrics:RequireAdminKey", false, errors);
        options.MetricsDetailedHttp = ReadBool(section, "Metrics:DetailedHttp", false, errors);
        options.DemoEnabled = ReadBool(section, "Demo:Enabled", isDevelopment, errors);
        options.DemoRunOnStart = ReadBool(section, "Demo:RunOnStart", false, errors);
        options.Schedules = ReadSchedules(section.GetSection("Schedules"), errors);
        // Only the conversion is checked here (every value that does not convert, not the binder's first); the engine's own
        // validator checks the values at start.
        errors.AddRange(SettingConversions.Problems(section.GetSection("Engine"), typeof(Hosting.BatonOptions)).Select(p => $"Baton:Engine: {p}"));

        // The same for the SQLite store's tuning (BusyTimeout, CheckpointInterval, WalBackstopPages...): before, a value that
        // did not convert was dropped silently and the default used. Durability has its own message above.
        errors.AddRange(SettingConversions.Problems(section.GetSection("Store:Sqlite"), typeof(SqliteStoreOptions))
            .Where(p => !p.Contains(":Durability'", StringComparison.Ordinal))
            .Select(p => $"Baton:Store:Sqlite: {p}"));

        var apps = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var app in section.GetSection("Apps").GetChildren())
        {
            if (ReadBool(app, "Enabled", false, errors))
            {
                apps.Add(app.Key);
            }
        }

        options.EnabledApps = apps;
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

    private static string? ReadStorePath(IConfigurationSection section, string contentRoot, List<string> errors) =>
        ReadPath("Baton:Store:Sqlite:Path", section["Store:Sqlite:Path"] is { Length: > 0 } p ? p.Trim() : "data/baton.db", contentRoot, errors);

    /// <summary>The full path of <paramref name="configured"/> (a relative one against the content root), or null with an error naming <paramref name="setting"/>.</summary>
    private static string? ReadPath(string setting, string configured, string contentRoot, List<string> errors)
    {
        if (configured.Contains('\0', StringComparison.Ordinal) || configured.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            errors.Add($"{setting} '{configured}' contains characters not allowed in a path");
            return null;
        }

        return Path.GetFullPath(configured, contentRoot);
    }

    private static List<ConfiguredSchedule> ReadSchedules(IConfigurationSection section, List<string> errors)
    {
        var schedules = new List<ConfiguredSchedule>();
        foreach (var child in section.GetChildren())
        {
            var misfire = MisfirePolicy.Skip;
            if (child["Misfire"] is { Length: > 0 } m && !MisfireNames.TryParse(m, out misfire))
            {
                errors.Add($"Baton:Schedules:{child.Key}:Misfire '{m}' must be 'skip' or 'run_once'");
            }

            var timeZone = child["TimeZone"] is { Length: > 0 } tz ? tz : "UTC";
            var input = child["Input"] is { Length: > 0 } i ? i : null;
            schedules.Add(new ConfiguredSchedule(child.Key, child["Workflow"] ?? "", child["Cron"] ?? "", timeZone, input, ReadBool(child, "Enabled", true, errors), misfire));
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

    /// <summary>
    /// Every <c>LogLevel</c> value under <c>Logging</c> (its own and each provider's) that is not a level, each replaced by
    /// <c>Information</c> so the host can be built and report it with the other problems at start. Before, a bad one stopped
    /// the build with exit 1 and "Configuration value 'Loud' is not supported", naming no setting.
    /// </summary>
    public static IReadOnlyList<string> ReplaceBadLogLevels(IConfiguration configuration)
    {
        var errors = new List<string>();
        var logging = configuration.GetSection("Logging");
        var sections = logging.GetChildren().Where(c => c.Key.Equals("LogLevel", StringComparison.OrdinalIgnoreCase))
            .Concat(logging.GetChildren().Select(c => c.GetSection("LogLevel")));
        foreach (var level in sections.SelectMany(s => s.GetChildren()).ToList())
        {
            // As Microsoft.Extensions.Logging reads them: empty is no rule, a level's name or number (of a defined level) is one.
            if (level.Value is { Length: > 0 } text
                && !(Enum.TryParse<Microsoft.Extensions.Logging.LogLevel>(text.Trim(), ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)))
            {
                errors.Add($"{level.Path} '{text}' must be Trace, Debug, Information, Warning, Error, Critical or None");
                configuration[level.Path] = "Information";
            }
        }

        return errors;
    }

    private static TimeSpan ReadTimeSpan(
        IConfigurationSection section, string key, TimeSpan fallback, List<string> errors, TimeSpan? min = null, TimeSpan? max = null)
    {
        if (section[key] is not { Length: > 0 } text)
        {
            return fallback;
        }

        var parsed = TimeSpan.TryParse(text.Trim(), CultureInfo.InvariantCulture, out var value);
        if (parsed && value >= (min ?? TimeSpan.Zero) && value <= (max ?? TimeSpan.MaxValue))
        {
            return value;
        }

        if (!parsed || min is null)
        {
            errors.Add($"{section.Path}:{key} '{text}' must be a non-negative time span (hh:mm:ss)");
        }
        else
        {
            // A bare number is days to TimeSpan ("10" is 10 days): say how it was read.
            errors.Add($"{section.Path}:{key} '{text}' must be a time span from {min:c} to {max:c} (hh:mm:ss); it was read as {value:c}");
        }

        return fallback;
    }
}
