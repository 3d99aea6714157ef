using Baton.Apps.CatalogSync;
using Baton.Hosting;
using Baton.Retries;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Baton.Samples.Demo;

/// <summary>Wires the demo into a Baton host. Nothing here is registered unless the host asks for it.</summary>
public static class DemoRegistration
{
    /// <summary>
    /// Registers the <c>demo</c> workflow; with <paramref name="runOnStart"/> one demo run is started when the
    /// host is up and its progress logged each second. <paramref name="baseUrl"/> is the server's URL, for the log line.
    /// </summary>
    public static BatonBuilder AddDemoWorkflow(this BatonBuilder baton, bool runOnStart, string baseUrl)
    {
        ArgumentNullException.ThrowIfNull(baton);
        baton.AddWorkflow<DemoWorkflow>(DemoWorkflow.Name, o =>
        {
            o.Description = "Built-in demo: prepares N items, squares them in a durable fan-out with visible progress, sums them. "
                + "Input (all optional): {\"items\":20,\"delayMs\":500,\"parallelism\":4,\"group\":null,\"fail\":false,\"waitFor\":null} "
                + "(waitFor: an event name the run waits for, suspended, before it sums).";
            o.ConcurrencyKeyFrom<DemoInput>(input => input is { Group: { Length: > 0 } group } ? $"demo:{group}" : null);
            o.ConcurrencyLimit = 1;
            o.Retry = RetryPolicy.Default;
        });
        if (runOnStart)
        {
            baton.Services.AddHostedService(sp => new DemoStarter(
                sp.GetRequiredService<Runs.IBatonClient>(),
                sp.GetRequiredService<IHostApplicationLifetime>(),
                baseUrl,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<DemoStarter>>()));
        }

        return baton;
    }

    /// <summary>
    /// When the catalog sync app and its demo are on (<c>Baton:Apps:CatalogSync:Enabled</c> and
    /// <c>Baton:Apps:CatalogSync:Demo:Enabled</c>), serves the simulated catalog feed in-process, points the
    /// sync at it and runs one sync at start. Call after the app's own services are added.
    /// </summary>
    public static IServiceCollection AddCatalogFeedDemo(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        // TryParse, not GetValue<bool>: a value that is not a boolean is reported by the app's validator with the
        // other settings, instead of throwing here while the services are still being registered.
        if (IsTrue(configuration[$"{CatalogSyncApp.SectionName}:Enabled"]) && IsTrue(configuration[$"{CatalogSyncApp.SectionName}:Demo:Enabled"]))
        {
            services.AddSingleton<CatalogFeedDemo>();
            services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<CatalogFeedDemo>());
        }

        return services;
    }

    private static bool IsTrue(string? value) => bool.TryParse(value, out var on) && on;
}
