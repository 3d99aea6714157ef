using System.Net;
using Baton.Apps.CatalogSync.Api;
using Baton.Apps.CatalogSync.Blobs;
using Baton.Apps.CatalogSync.Fetch;
using Baton.Apps.CatalogSync.Hosting;
using Baton.Apps.CatalogSync.Processing;
using Baton.Hosting;
using Baton.Server.Configuration;
using Baton.Server.Logging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Baton.Apps.CatalogSync;

/// <summary>
/// The catalog sync app (seeds 000 + 003), switched on with <c>Baton:Apps:CatalogSync:Enabled = true</c>:
/// the <c>catalog-sync</c> workflow, its daily schedule, and seed 000's <c>/sync</c> and <c>/status</c> endpoints.
/// </summary>
public sealed class CatalogSyncApp : IBatonApp
{
    public const string SectionName = "Baton:Apps:CatalogSync";

    /// <summary>The name the catalog sync workflow is registered under.</summary>
    public const string WorkflowName = "catalog-sync";

    public string Name => "CatalogSync";

    public void ConfigureServices(WebApplicationBuilder builder, BatonBuilder baton)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(baton);
        var configuration = builder.Configuration;
        var contentRoot = builder.Environment.ContentRootPath;
        var services = builder.Services;
        services.AddOptions<CatalogSyncOptions>()
            .Configure(o =>
            {
                // Every value that does not convert is reported (the binder alone stops at the first), and every other
                // value is bound, so the validator checks what was set.
                o.BindingErrors.AddRange(SettingConversions.Bind(configuration.GetSection(SectionName), o).Select(p => $"{SectionName}: {p}"));
            })
            .PostConfigure(o =>
            {
                o.ApiUrl = NonEmpty(configuration["MEDIPIM_API_URL"]) ?? o.ApiUrl;
                o.ApiKeyId = NonEmpty(configuration["MEDIPIM_API_KEY_ID"]) ?? o.ApiKeyId;
                o.ApiKeySecret = NonEmpty(configuration["MEDIPIM_API_KEY_SECRET"]) ?? o.ApiKeySecret;
                var remote = o.Remote;
                remote.FetcherUrl ??= $"http://127.0.0.1:{NonEmpty(configuration["FETCHER_PORT"]) ?? "3001"}/";
                remote.MaintainerUrl ??= $"http://127.0.0.1:{NonEmpty(configuration["MAINTAINER_PORT"]) ?? "3002"}/";
                remote.FetcherUrl = remote.FetcherUrl.EndsWith('/') ? remote.FetcherUrl : remote.FetcherUrl + "/";
                remote.MaintainerUrl = remote.MaintainerUrl.EndsWith('/') ? remote.MaintainerUrl : remote.MaintainerUrl + "/";
                remote.AdminKey ??= NonEmpty(configuration["ADMIN_KEY"]);
                o.BlobDirectory = Path.GetFullPath(o.BlobDirectory, contentRoot);
                o.DatabasePath = Path.GetFullPath(o.DatabasePath, contentRoot);
                o.Products.ApplyDefaults(configuration);
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<CatalogSyncOptions>, CatalogSyncOptionsValidator>();
        // Every place a credential can be configured: the server masks each of them in every log line.
        foreach (var secret in new[] { "MEDIPIM_API_KEY_ID", "MEDIPIM_API_KEY_SECRET", $"{SectionName}:ApiKeyId", $"{SectionName}:ApiKeySecret", $"{SectionName}:Remote:AdminKey" })
        {
            services.AddLogSecret(configuration[secret]);
        }

        services.AddConnectionStringPassword(configuration[$"{SectionName}:Products:ConnectionString"]);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IBlobStore>(sp => new LocalBlobStore(sp.GetRequiredService<IOptions<CatalogSyncOptions>>().Value.BlobDirectory));
        services.AddSingleton<IProductStore>(sp =>
        {
            var settings = sp.GetRequiredService<IOptions<CatalogSyncOptions>>().Value;
            return settings.Products.Provider == CatalogProductsProvider.Postgres
                ? new PostgresProductStore(settings.Products.ConnectionString!, settings.Products.Schema)
                : new SqliteProductStore(settings.DatabasePath);
        });
        services.AddSingleton(sp => new FeedDownloader(
            new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AutomaticDecompression = DecompressionMethods.All, ConnectTimeout = TimeSpan.FromSeconds(30) })
            {
                // Each fetch attempt has the step's timeout (FetchTimeout); the client's own limit would cut long downloads.
                Timeout = Timeout.InfiniteTimeSpan,
            },
            sp.GetRequiredService<IBlobStore>(),
            sp.GetRequiredService<IOptions<CatalogSyncOptions>>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<FeedDownloader>>(),
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new Remote.RemoteServices(
            // No redirects: every request carries the admin key, and .NET copies custom headers onto a redirect, even to
            // another origin (a Fetcher that answered 307 elsewhere would hand the key over).
            new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(30), AllowAutoRedirect = false }) { Timeout = Timeout.InfiniteTimeSpan },
            sp.GetRequiredService<IOptions<CatalogSyncOptions>>()));
        services.AddSingleton<Remote.RemoteSync>();
        services.AddSingleton<ChunkProcessor>();
        services.AddSingleton<Baton.Server.Views.ICatalogDeadLetters, CatalogDeadLetters>();
        CatalogSyncWorkflow.Register(baton);
        services.AddSingleton<IHostedService, CatalogSyncStartup>();
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints) => SyncEndpoints.Map(endpoints);

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
