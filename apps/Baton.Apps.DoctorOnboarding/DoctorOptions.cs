using System.Globalization;
using System.Text.Json;
using Baton.Server.Configuration;
using Microsoft.Extensions.Configuration;

namespace Baton.Apps.DoctorOnboarding;

/// <summary>
/// The orchestrator's settings: seed 004's environment variables (<c>RABBITMQ_URL</c>, <c>REDIS_URL</c>,
/// <c>ACCOUNTS_SERVICE_CLIENT_OPTIONS</c>, <c>PROVIDER_DIRECTORY_CLIENT_OPTIONS</c>) and the
/// rest under <c>Baton:Apps:DoctorOnboarding</c>. Bound by <see cref="Read"/>; values that do not convert keep their
/// default and are listed in <see cref="BindingErrors"/>, which the app refuses to start with.
/// </summary>
public sealed class DoctorOptions
{
    public const string Section = "Baton:Apps:DoctorOnboarding";

    internal List<string> BindingErrors { get; } = [];

    /// <summary>The broker, <c>amqp://user:pass@host:port/vhost</c>. From <c>RABBITMQ_URL</c>; the default is amqp://guest:guest@localhost:5672.</summary>
    public string RabbitMqUrl { get; set; } = "amqp://guest:guest@localhost:5672";

    /// <summary>The cache, <c>redis://[:password@]host:port[/db]</c> or a StackExchange.Redis configuration string. From <c>REDIS_URL</c>; the default is redis://localhost:6379.</summary>
    public string RedisUrl { get; set; } = "redis://localhost:6379";

    /// <summary>The orchestrator's own request queue (durable). The default is <c>orchestrator_queue</c>.</summary>
    public string Queue { get; set; } = "orchestrator_queue";

    /// <summary>The accounts service's queue, from <c>ACCOUNTS_SERVICE_CLIENT_OPTIONS</c> (<c>queue</c> or <c>options.queue</c>); the default is <c>accounts_queue</c>.</summary>
    public string AccountsQueue { get; set; } = "accounts_queue";

    /// <summary>The provider directory's queue, from <c>PROVIDER_DIRECTORY_CLIENT_OPTIONS</c>; the default is <c>provider_directory_queue</c>.</summary>
    public string ProviderDirectoryQueue { get; set; } = "provider_directory_queue";

    /// <summary>Time limit of one call of a saga step; the call is cancelled when it passes. The default is 12 s.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(12);

    /// <summary>Time limit of one compensation call. The default is 8 s.</summary>
    public TimeSpan CompensationTimeout { get; set; } = TimeSpan.FromSeconds(8);

    /// <summary>Time limit of a whole saga, from its start; the running step is cancelled and the saga compensated. The default is 30 s.</summary>
    public TimeSpan SagaTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time limit of one service call made by a composite read. The default is 5 s.</summary>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Requests the orchestrator's server takes at once (prefetch and handler concurrency). A saga's request is acknowledged
    /// as soon as its run is stored, a read's once it is answered. The default is 256.
    /// </summary>
    public ushort MaxInFlight { get; set; } = 256;

    /// <summary>Time to live of a cached single composite, in seconds. The default is 300 (the seed's).</summary>
    public int SingleTtlSeconds { get; set; } = 300;

    /// <summary>Time to live of a cached composite list, in seconds. The default is 120 (the seed's).</summary>
    public int ListTtlSeconds { get; set; } = 120;

    /// <summary>The outgoing message patterns; each can be renamed for a deployment whose services name it differently.</summary>
    public DoctorPatterns Patterns { get; set; } = new();

    public static DoctorOptions Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new DoctorOptions();
        var errors = options.BindingErrors;
        if (configuration["RABBITMQ_URL"] is { Length: > 0 } rabbit)
        {
            if (Uri.TryCreate(rabbit.Trim(), UriKind.Absolute, out var uri) && uri.Scheme is "amqp" or "amqps")
            {
                options.RabbitMqUrl = rabbit.Trim();
            }
            else
            {
                errors.Add("RABBITMQ_URL is not an amqp:// or amqps:// URL");
            }
        }

        if (configuration["REDIS_URL"] is { Length: > 0 } redis)
        {
            options.RedisUrl = redis.Trim();
            if (Cache.RedisUrl.TryParse(options.RedisUrl, out _) is { } error)
            {
                errors.Add($"REDIS_URL: {error}");
            }
        }


        options.AccountsQueue = ReadClientQueue(configuration, "ACCOUNTS_SERVICE_CLIENT_OPTIONS", options.AccountsQueue, errors);
        options.ProviderDirectoryQueue = ReadClientQueue(configuration, "PROVIDER_DIRECTORY_CLIENT_OPTIONS", options.ProviderDirectoryQueue, errors);

        var section = configuration.GetSection(Section);
        if (section["Queue"] is { Length: > 0 } queue)
        {
            options.Queue = queue.Trim();
        }

        options.CallTimeout = SettingValues.ReadTime(section, Section, "CallTimeout", options.CallTimeout, errors);
        options.CompensationTimeout = SettingValues.ReadTime(section, Section, "CompensationTimeout", options.CompensationTimeout, errors);
        options.SagaTimeout = SettingValues.ReadTime(section, Section, "SagaTimeout", options.SagaTimeout, errors);
        options.ReadTimeout = SettingValues.ReadTime(section, Section, "ReadTimeout", options.ReadTimeout, errors);
        options.MaxInFlight = (ushort)SettingValues.ReadWhole(section, Section, "MaxInFlight", options.MaxInFlight, ushort.MaxValue, errors);
        options.SingleTtlSeconds = SettingValues.ReadWhole(section, Section, "SingleTtlSeconds", options.SingleTtlSeconds, 86_400, errors);
        options.ListTtlSeconds = SettingValues.ReadWhole(section, Section, "ListTtlSeconds", options.ListTtlSeconds, 86_400, errors);
        // Read key by key, not bound: the binder skipped a name it did not know (a misspelt pattern kept its default, and the
        // orchestrator sent a pattern nobody answered), and stopped at its first error.
        foreach (var pattern in section.GetSection("Patterns").GetChildren())
        {
            if (!DoctorPatterns.Names.Contains(pattern.Key))
            {
                errors.Add($"{Section}:Patterns:{pattern.Key} is not a pattern of this app; the patterns are {string.Join(", ", DoctorPatterns.Names)}");
            }
            else if (pattern.Value is null)
            {
                errors.Add($"{Section}:Patterns:{pattern.Key} must be a text (a message pattern), not a section");
            }
            else
            {
                options.Patterns.Set(pattern.Key, pattern.Value);
            }
        }

        foreach (var (name, value) in options.Patterns.All())
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                errors.Add($"{Section}:Patterns:{name} must not be empty");
            }
        }

        return options;
    }

    /// <summary>
    /// The queue of a NestJS client's options JSON: <c>{"queue": ...}</c>, the RMQ options <c>{"urls": [...], "queue": ...}</c>
    /// or a whole ClientProviderOptions <c>{"transport": ..., "options": {"queue": ...}}</c>.
    /// </summary>
    internal static string ReadClientQueue(IConfiguration configuration, string name, string fallback, List<string> errors)
    {
        if (configuration[name] is not { Length: > 0 } json)
        {
            return fallback;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("options", out var inner) && inner.ValueKind == JsonValueKind.Object)
            {
                root = inner;
            }

            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("queue", out var queue)
                && queue.ValueKind == JsonValueKind.String && queue.GetString() is { Length: > 0 } value)
            {
                return value;
            }

            errors.Add($"{name} has no \"queue\" (expected JSON like {{\"queue\":\"accounts_queue\"}})");
        }
        catch (JsonException)
        {
            errors.Add($"{name} is not JSON (expected JSON like {{\"queue\":\"accounts_queue\"}})");
        }

        return fallback;
    }

}

/// <summary>The patterns the orchestrator sends to the two services (seed 004's names by default).</summary>
public sealed class DoctorPatterns
{
    public string AccountsCreate { get; set; } = "doctor-accounts.create";
    public string AccountsFindOne { get; set; } = "doctor-accounts.findOne";
    public string AccountsUpdate { get; set; } = "doctor-accounts.update";
    public string AccountsRemove { get; set; } = "doctor-accounts.remove";
    public string AccountsFindAll { get; set; } = "doctor-accounts.findAll";
    public string AccountsAssignPermissions { get; set; } = "doctor-accounts.assignPermissions";
    public string ProfileCreateEmpty { get; set; } = "doctor-profile.createEmpty";
    public string ProfileFindOne { get; set; } = "doctor-profile.findOne";
    public string ProfileGetByAccountId { get; set; } = "doctor-profile.getByAccountId";
    public string ProfileGetByAccountIds { get; set; } = "doctor-profile.getByAccountIds";
    public string ProfileUpdate { get; set; } = "doctor-profile.update";
    public string ProfileRemove { get; set; } = "doctor-profile.remove";
    public string ProfileGetPublicList { get; set; } = "doctor-profile.getPublicList";

    /// <summary>The settings' names, matched as configuration keys are (ignoring case).</summary>
    internal static readonly IReadOnlySet<string> Names = new HashSet<string>(new DoctorPatterns().All().Select(p => p.Name), StringComparer.OrdinalIgnoreCase);

    /// <summary>Sets the pattern named <paramref name="name"/> (one of <see cref="Names"/>, in any case).</summary>
    internal void Set(string name, string value) =>
        typeof(DoctorPatterns).GetProperty(name, System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.IgnoreCase)!
            .SetValue(this, value);

    internal IEnumerable<(string Name, string Value)> All() =>
    [
        (nameof(AccountsCreate), AccountsCreate), (nameof(AccountsFindOne), AccountsFindOne), (nameof(AccountsUpdate), AccountsUpdate),
        (nameof(AccountsRemove), AccountsRemove), (nameof(AccountsFindAll), AccountsFindAll),
        (nameof(AccountsAssignPermissions), AccountsAssignPermissions), (nameof(ProfileCreateEmpty), ProfileCreateEmpty),
        (nameof(ProfileFindOne), ProfileFindOne), (nameof(ProfileGetByAccountId), ProfileGetByAccountId),
        (nameof(ProfileGetByAccountIds), ProfileGetByAccountIds), (nameof(ProfileUpdate), ProfileUpdate),
        (nameof(ProfileRemove), ProfileRemove), (nameof(ProfileGetPublicList), ProfileGetPublicList),
    ];
}
