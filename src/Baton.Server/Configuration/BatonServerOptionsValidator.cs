using System.Text.Json;
using Baton.Scheduling;
using Microsoft.Extensions.Options;

namespace Baton.Server.Configuration;

/// <summary>
/// Checks <see cref="BatonServerOptions"/> at start (<c>ValidateOnStart</c>): the values that did not convert,
/// the problems found while the host was put together (<see cref="StartupProblems"/>: admin key, app
/// listeners, apps), and the settings' own rules. With the engine's, the store's and the apps' validators,
/// every problem is reported at once and the server exits with code 2.
/// </summary>
internal sealed class BatonServerOptionsValidator(
    StartupProblems startupProblems,
    Baton.Workflows.IWorkflowCatalog workflows,
    IEnumerable<IConfigureOptions<Baton.Hosting.BatonOptions>> engineSetups,
    IEnumerable<IPostConfigureOptions<Baton.Hosting.BatonOptions>> enginePostSetups)
    : IValidateOptions<BatonServerOptions>
{
    public ValidateOptionsResult Validate(string? name, BatonServerOptions options)
    {
        var errors = new List<string>(startupProblems.Errors);
        errors.AddRange(options.BindingErrors);
        // An IP address, localhost, or 0.0.0.0/*/+ for every interface. Kestrel binds any other name to every interface,
        // so a mistyped one opened the admin API to the network instead of being refused.
        if (!(options.Host is "*" or "+" || string.Equals(options.Host, "localhost", StringComparison.OrdinalIgnoreCase)
              || System.Net.IPAddress.TryParse(options.Host.Trim('[', ']'), out _)))
        {
            errors.Add($"Baton:Host '{options.Host}' is not an IP address or localhost (0.0.0.0 listens on every interface)");
        }

        foreach (var url in (options.Urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"Baton:Urls entry '{url}' must start with http:// or https://");
            }
        }

        if (options.Store == StoreProvider.Postgres && string.IsNullOrWhiteSpace(options.PostgresConnectionString))
        {
            errors.Add("the postgres store needs a connection string: set BATON_POSTGRES (or Baton:Store:Postgres:ConnectionString)");
        }

        if (options.SqlitePath is { } path && SettingPaths.Problem(path, wantDirectory: false) is { } pathProblem)
        {
            errors.Add($"Baton:Store:Sqlite:Path '{path}' {pathProblem}; give the database file's path (e.g. data/baton.db)");
        }

        if (options.DataProtectionKeysPath is { } keys && SettingPaths.Problem(keys, wantDirectory: true) is { } keysProblem)
        {
            errors.Add($"Baton:DataProtection:KeysPath '{keys}' {keysProblem}; give a directory every node can read and write");
        }

        var inputJson = options.Schedules.Count == 0 ? null : InputJson(engineSetups, enginePostSetups);
        foreach (var schedule in options.Schedules)
        {
            CheckSchedule(schedule, workflows, inputJson, errors);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>
    /// The engine's options for a new run's input (its JSON options as configured), or null when configuring them throws.
    /// Made by an <see cref="OptionsFactory{TOptions}"/> with the engine's configure steps and no validators, not read
    /// through <c>IOptions</c>, which would validate the engine's settings here and throw for any bad one (its own
    /// validator reports those, with the rest).
    /// </summary>
    private static System.Text.Json.JsonSerializerOptions? InputJson(
        IEnumerable<IConfigureOptions<Baton.Hosting.BatonOptions>> setups, IEnumerable<IPostConfigureOptions<Baton.Hosting.BatonOptions>> postSetups)
    {
        try
        {
            var engine = new OptionsFactory<Baton.Hosting.BatonOptions>(setups, postSetups).Create(Options.DefaultName);
            return Baton.Workflows.WorkflowJson.InputOptions(engine.Json);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException)
        {
            return null;
        }
    }

    private static void CheckSchedule(
        ConfiguredSchedule schedule, Baton.Workflows.IWorkflowCatalog workflows, System.Text.Json.JsonSerializerOptions? inputJson, List<string> errors)
    {
        var at = $"Baton:Schedules:{schedule.Name}";
        if (string.IsNullOrWhiteSpace(schedule.Workflow))
        {
            errors.Add($"{at}:Workflow is required");
        }
        else if (!workflows.TryGet(schedule.Workflow, out _))
        {
            // Checked with the rest, before the store is opened: before, only once the database had been created and migrated
            // (or a PostgreSQL schema made), and in a report of its own.
            errors.Add($"{at}: no workflow named '{schedule.Workflow}' is registered (registered: {string.Join(", ", workflows.Workflows.Select(w => w.Name).Order(StringComparer.Ordinal))})");
        }

        if (!CronSchedule.TryParse(schedule.Cron, schedule.TimeZone, out _, out var cronError))
        {
            errors.Add($"{at}: {cronError}");
        }

        JsonDocument? input;
        try
        {
            input = schedule.Input is null ? null : JsonDocument.Parse(schedule.Input);
        }
        catch (JsonException ex)
        {
            errors.Add($"{at}:Input is not JSON text: {ex.Message}");
            return;
        }

        using (input)
        {
            // Read as a fire reads it. Before: checked only once the store was opened (a database created and migrated), and
            // alone, after the other problems had been fixed.
            if (inputJson is not null && workflows is Baton.Workflows.WorkflowRegistry registry && registry.Find(schedule.Workflow ?? "") is { } definition
                && !definition.TryReadInput(input?.RootElement, inputJson, out _, out var inputError))
            {
                errors.Add($"{at}: {inputError.Message}");
            }
        }
    }
}

/// <summary>Problems found while the host was put together, before options exist (admin key, app listeners, apps); reported at start with the rest.</summary>
internal sealed class StartupProblems
{
    public List<string> Errors { get; } = [];
}
