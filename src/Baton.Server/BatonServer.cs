using Baton.AspNetCore;
using Baton.Hosting;
using Baton.Server.Api;
using Baton.Server.Auth;
using Baton.Server.Configuration;
using Baton.Server.Health;
using Baton.Server.Listening;
using Baton.Server.Logging;
using Baton.Server.Metrics;
using Baton.Samples.Demo;
using Baton.Workflows;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Baton.Server;

/// <summary>
/// Builds and runs the Baton server: configuration checks, admin key, logging, the engine on the
/// configured store, the HTTP API, health, metrics and the enabled apps.
/// </summary>
public static class BatonServer
{
    /// <summary>Exit code for configuration the server cannot start with.</summary>
    public const int ConfigurationErrorExitCode = 2;

    /// <summary>Exit code for any other failure to start or run.</summary>
    public const int FailureExitCode = 1;

    /// <summary>
    /// Builds the application. Bad configuration throws once the host is built, every problem (the server's
    /// settings, the admin key, the apps', the engine's and the store's) together: an
    /// <see cref="OptionsValidationException"/>, or several in an <see cref="AggregateException"/>.
    /// <paramref name="configure"/> runs last, before the host is built (tests add workflows and log providers there).
    /// </summary>
    public static WebApplication Build(string[] args, IEnumerable<IBatonApp>? apps = null, Action<WebApplicationBuilder, BatonBuilder>? configure = null)
    {
        // No reload on change: the settings are read once at start, and the watcher it needs follows every write under the
        // content root, which holds the default SQLite database (data/baton.db): ~2.4 % of the CPU under write load.
        // A later argument (or DOTNET_hostBuilder__reloadConfigOnChange) still switches it back on.
        var builder = WebApplication.CreateBuilder(["--hostBuilder:reloadConfigOnChange=false", .. args]);
        var configuration = builder.Configuration;
        var contentRoot = builder.Environment.ContentRootPath;
        var isDevelopment = builder.Environment.IsDevelopment();
        var problems = new StartupProblems();
        // Bound here to wire the host (listeners, store, apps, demo); the options system binds the same settings
        // again for ValidateOnStart, which reports the problems once the host starts.
        problems.Errors.AddRange(ServerSettingsReader.ReplaceBadLogLevels(configuration));
        var options = new BatonServerOptions();
        ServerSettingsReader.Bind(options, configuration, contentRoot, isDevelopment);
        string? generatedKey = null;
        AdminKey adminKey;
        try
        {
            adminKey = AdminKey.Resolve(configuration, builder.Environment, out generatedKey);
        }
        catch (BatonConfigurationException ex)
        {
            problems.Errors.Add(ex.Message);
            // A key nobody knows, so the host can be built and report every problem at start.
            adminKey = new AdminKey(Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)));
        }

        var listener = MainListener.Resolve(configuration, options);
        if (listener.Source is not (ListenSource.Baton or ListenSource.Default))
        {
            // The apps' own listeners go on the host ASP.NET Core's settings chose (every interface in a container).
            options.Host = listener.Host;
        }

        var enabledApps = (apps ?? []).Where(a => options.EnabledApps.Contains(a.Name)).ToList();
        var appListeners = AppListeners.Resolve(enabledApps, configuration, options, problems.Errors);

        // Type=notify under systemd (READY=1 once listening, STOPPING=1 on SIGTERM); before the logging setup so the JSON console stays.
        builder.Host.UseSystemd();
        LoggingSetup.Configure(builder);
        if (listener.Source != ListenSource.KestrelEndpoints)
        {
            builder.WebHost.UseUrls(string.Join(';', [listener.Urls, .. appListeners.Urls]));
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            if (listener.Source == ListenSource.KestrelEndpoints)
            {
                // Kestrel ignores UseUrls beside its own endpoints; the apps' ports are added in code, which it binds with them.
                foreach (var port in appListeners.Ports)
                {
                    AppListeners.Listen(kestrel, options.Host, port);
                }
            }
        });

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(problems);
        services.AddOptions<BatonServerOptions>()
            .Configure(o => ServerSettingsReader.Bind(o, configuration, contentRoot, isDevelopment))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<BatonServerOptions>, BatonServerOptionsValidator>();
        // The resolved key (a generated one in Development) is registered first, so AddBatonServer keeps it.
        services.AddSingleton(adminKey);
        var configuredKey = generatedKey is null ? builder.Configuration[AdminKey.ConfigurationKey]?.Trim() : null;
        services.AddLogSecret(generatedKey ?? configuredKey);
        services.AddConnectionStringPassword(options.PostgresConnectionString);
        foreach (var signal in new[] { "", "TRACES_", "METRICS_", "LOGS_" })
        {
            services.AddHeaderValues(configuration[$"OTEL_EXPORTER_OTLP_{signal}HEADERS"]);
        }

        services.AddBatonServer(api =>
        {
            api.MaxRequestBodyBytes = options.MaxRequestBodyBytes;
            api.RequestTimeout = options.RequestTimeout;
            api.MetricsRequireAdminKey = options.MetricsRequireAdminKey;
            api.DetailedHttpMetrics = options.MetricsDetailedHttp;
            // The server owns every route: Baton's exception handlers answer the apps' routes too, its document lists them.
            api.AnswersEveryRoute = true;
        });
        if (options.DataProtectionKeysPath is { } keysPath)
        {
            // One ring for every node that names this directory: the application name, not the content root, scopes it.
            services.AddDataProtection().SetApplicationName("Baton").PersistKeysToFileSystem(new DirectoryInfo(keysPath));
        }

        // The server owns every route: one that names no policy (an app's, or none matched) needs the admin key too.
        services.AddOptions<AuthorizationOptions>().PostConfigure(o => o.FallbackPolicy = o.GetPolicy(BatonAuthorization.PolicyName));
        // The host reads its options while it is built, before ValidateOnStart reports bad engine settings with
        // the rest: so the drain timeout is taken from the engine's configuration without validating it here.
        services.AddOptions<HostOptions>().Configure<IEnumerable<IConfigureOptions<BatonOptions>>>((host, setups) =>
        {
            var engine = new BatonOptions();
            foreach (var setup in setups)
            {
                setup.Configure(engine);
            }

            host.ShutdownTimeout = TimeSpan.FromTicks(Math.Max(0, (engine.DrainTimeout + options.ShutdownMargin).Ticks));
        });

        var baton = services.AddBaton();
        services.AddOptions<BatonOptions>().Configure(o =>
        {
            // The content root, not the working directory (which is "/" under systemd for every service on a host),
            // so each installation keeps one node id across restarts and two installations get two.
            o.NodeId = BatonOptions.DefaultNodeId(Environment.MachineName, contentRoot);
            BindReported(builder.Configuration.GetSection("Baton:Engine"), o);
        });
        StoreRegistration.UseConfiguredStore(baton, options, builder.Configuration);
        services.AddHostedService<StartupTasks>();
        // OpenTelemetry: AddBatonServer registers the metrics /metrics serves; the host adds its service name and OTLP
        // export of traces, metrics and logs when OTEL_EXPORTER_OTLP_ENDPOINT is set.
        BatonTelemetry.AddHostExport(builder);
        if (options.DemoEnabled)
        {
            baton.AddDemoWorkflow(options.DemoRunOnStart, listener.LocalUrl);
        }

        services.AddSingleton(appListeners);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.AspNetCore.Routing.MatcherPolicy, ListenerMatcherPolicy>());
        foreach (var app in enabledApps)
        {
            try
            {
                app.ConfigureServices(builder, baton);
            }
            catch (ArgumentException ex)
            {
                problems.Errors.Add($"app {app.Name}: {ex.Message}");
            }
        }

        // After the apps: the catalog feed demo points the CatalogSync app's options at the simulated feed.
        services.AddCatalogFeedDemo(builder.Configuration);

        configure?.Invoke(builder, baton);
        RedactingLoggerFactory.Install(services);

        var application = builder.Build();
        try
        {
            // What the host would validate when it starts, done now and all at once: starting resolves the
            // engine's services first, and the first of them to read invalid options would hide the other problems.
            application.Services.GetService<IStartupValidator>()?.Validate();
        }
        catch
        {
            ((IDisposable)application).Dispose();
            throw;
        }

        var logger = application.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Baton.Server");
        if (generatedKey is not null)
        {
            // Printed once, on the console only: the logging pipeline never sees the key.
            Console.Out.WriteLine($"Baton admin key (generated for Development, valid until this process stops): {generatedKey}");
            Console.Out.Flush();
            HostLog.GeneratedAdminKey(logger);
        }
        else if (configuredKey is { Length: < AdminKey.RecommendedMinimumLength })
        {
            HostLog.ShortAdminKey(logger, AdminKey.RecommendedMinimumLength);
        }

        foreach (var name in options.EnabledApps.Where(n => !enabledApps.Any(a => string.Equals(a.Name, n, StringComparison.OrdinalIgnoreCase))))
        {
            HostLog.UnknownApp(logger, name);
        }

        ConfigurePipeline(application);
        foreach (var app in enabledApps)
        {
            app.MapEndpoints(appListeners.PortOf(app) is { } port
                ? application.MapGroup("").WithMetadata(new AppListenerMetadata(port)).ExcludeFromDescription()
                : application);
            HostLog.AppEnabled(logger, app.Name);
        }

        var lifetime = application.Lifetime;
        // Resolved now: after a failed start the provider is disposed before the stopping callbacks run.
        var shutdownTimeout = application.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout;
        lifetime.ApplicationStarted.Register(() => HostLog.ServerStarted(
            logger,
            HealthEndpoints.Version,
            string.Join(", ", application.Urls),
            application.Environment.EnvironmentName,
            options.StoreDescription,
            string.Join(", ", application.Services.GetRequiredService<IWorkflowCatalog>().Workflows.Select(w => w.Name).Order(StringComparer.Ordinal))));
        lifetime.ApplicationStopping.Register(() => HostLog.ShuttingDown(logger, shutdownTimeout));
        return application;
    }

    /// <summary>The error of the first hosted background service whose work ended in an exception, or null.</summary>
    private static Exception? FailedBackgroundService(IEnumerable<BackgroundService> services) =>
        services
            .Select(s => s.ExecuteTask)
            .FirstOrDefault(t => t is { IsFaulted: true })?.Exception?.GetBaseException();

    /// <summary>
    /// Builds and runs the server until it is stopped (SIGTERM, Ctrl+C); returns the process exit code.
    /// <paramref name="configure"/> is passed to <see cref="Build"/> (test hosts add their workflows there).
    /// </summary>
    public static async Task<int> RunAsync(string[] args, IEnumerable<IBatonApp>? apps = null, Action<WebApplicationBuilder, BatonBuilder>? configure = null)
    {
        WebApplication application;
        try
        {
            application = Build(args, apps, configure);
        }
        catch (Exception ex) when (IsConfigurationError(ex))
        {
            await Console.Error.WriteLineAsync($"Baton cannot start: {ConfigurationMessage(ex)}");
            return ConfigurationErrorExitCode;
        }
        catch (Exception ex)
        {
            await Console.Error.WriteLineAsync($"Baton cannot start: {ex.GetType().Name}: {ex.Message}");
            return FailureExitCode;
        }

        await using (application)
        {
            // Resolved up front: RunAsync disposes the host (and its services) when the start fails.
            var logger = application.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Baton.Server");
            var redactor = application.Services.GetRequiredService<SecretRedactor>();
            var started = application.Lifetime.ApplicationStarted;
            try
            {
                // Before the store opens or the worker starts: a taken port then stops the start with one line
                // (not the configuration report: the settings are valid, the machine's state is not).
                try
                {
                    ListenAddressCheck.EnsureFree(
                        application.Configuration[WebHostDefaults.ServerUrlsKey] ?? "", application.Services.GetRequiredService<AppListeners>().SettingsOf);
                }
                catch (BatonConfigurationException ex)
                {
                    await Console.Error.WriteLineAsync($"Baton cannot start: {ex.Message}");
                    return ConfigurationErrorExitCode;
                }

                // Taken before RunAsync, which disposes the services when it returns.
                var background = application.Services.GetServices<IHostedService>().OfType<BackgroundService>().ToList();
                await application.RunAsync();
                // A background service that failed stopped the host (BackgroundServiceExceptionBehavior.StopHost) and the
                // host logged why; RunAsync still returns normally, so the exit code says it (a supervisor must not read
                // it as a clean stop).
                if (FailedBackgroundService(background) is { } failed)
                {
                    await Console.Error.WriteLineAsync($"Baton stopped: {redactor.Redact(failed.Message)}");
                    return FailureExitCode;
                }

                return 0;
            }
            catch (Exception ex) when (IsConfigurationError(ex))
            {
                await Console.Error.WriteLineAsync($"Baton cannot start: {ConfigurationMessage(ex)}");
                return ConfigurationErrorExitCode;
            }
            catch (IOException ex) when (ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
                // Taken between the check above and Kestrel's bind.
                await Console.Error.WriteLineAsync($"Baton cannot start: {ex.Message} Stop the process holding the port or choose another port.");
                return ConfigurationErrorExitCode;
            }
            catch (Exception ex)
            {
                // The log line carries the stack trace (secrets masked; a failed start the host has logged
                // already); stderr keeps the one-line reason.
                if (started.IsCancellationRequested)
                {
                    HostLog.StoppedWithError(logger, ex);
                }

                await Console.Error.WriteLineAsync($"Baton stopped with an error: {ex.GetType().Name}: {redactor.Redact(ex.Message)}");
                return FailureExitCode;
            }
        }
    }

    /// <summary>
    /// Binds a section whose conversion <see cref="ServerSettingsReader"/> already checked: a value that does not convert
    /// is in the start-up report, so here it is left out and every other value bound, for the validators to check.
    /// </summary>
    internal static void BindReported(IConfigurationSection section, object options) => SettingConversions.Bind(section, options);

    /// <summary>
    /// Settings the server or the engine refused at start (ValidateOnStart throws one, or several in an aggregate),
    /// or a store whose database another process owns.
    /// </summary>
    private static bool IsConfigurationError(Exception ex) =>
        ex is BatonConfigurationException or OptionsValidationException or Storage.StoreInUseException
        || IsBindingError(ex)
        || ex is AggregateException aggregate && aggregate.Flatten().InnerExceptions.All(IsConfigurationError);

    /// <summary>
    /// The configuration binder's refusal of a value it cannot convert (<c>ChunkSize=abc</c>): a bad setting like any other,
    /// exit code 2 and one line naming it (before: exit 1 and the raw exception). Other bad settings found by the
    /// validators after it are not listed: the binder stops at the first value it cannot convert. The server's own sections
    /// and the catalog sync's are checked value by value first (<see cref="Configuration.SettingConversions"/>), so they reach
    /// here only from a section nothing checked.
    /// </summary>
    private static bool IsBindingError(Exception ex) =>
        ex is InvalidOperationException && ex.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal);

    /// <summary>
    /// One report: <c>invalid configuration:</c> and every problem on its own line; a database owned by another
    /// process is said as it is (the settings are valid, the machine's state is not).
    /// </summary>
    private static string ConfigurationMessage(Exception ex) =>
        Unwrap(ex) is Storage.StoreInUseException inUse
            ? inUse.Message
            : "invalid configuration:" + string.Concat(WithoutRepeats(ConfigurationErrors(ex).Distinct().ToList()).Select(e => Environment.NewLine + "  - " + e));

    /// <summary>
    /// A store's own validator's line for a problem the server's validator names too, with the server's hint (the variable
    /// to set, the path to give): first the start-up report said the problem twice in two wordings.
    /// </summary>
    private static readonly (string ServerSays, string StoreSays)[] SaidTwice =
    [
        ("the postgres store needs a connection string", "Baton:Store:Postgres:ConnectionString is required"),
        ("Baton:Store:Sqlite:Path '", "Baton:Store:Sqlite: Path '"),
    ];

    private static IEnumerable<string> WithoutRepeats(List<string> errors) =>
        errors.Where(e => !SaidTwice.Any(pair =>
            e.StartsWith(pair.StoreSays, StringComparison.Ordinal)
            && errors.Exists(other => other.StartsWith(pair.ServerSays, StringComparison.Ordinal))));

    private static Exception Unwrap(Exception ex) =>
        ex is AggregateException aggregate && aggregate.Flatten().InnerExceptions is [var single] ? single : ex;

    private static IEnumerable<string> ConfigurationErrors(Exception ex) => ex switch
    {
        AggregateException aggregate => aggregate.Flatten().InnerExceptions.SelectMany(ConfigurationErrors),
        OptionsValidationException validation => validation.Failures,
        _ => ex.Message.Split(Environment.NewLine).Select(line => line.Trim().TrimStart('-').Trim())
            .Where(line => line.Length > 0 && line != "invalid configuration:"),
    };

    private static void ConfigurePipeline(WebApplication app)
    {
        app.UseMiddleware<CorrelationIdMiddleware>();
        app.UseMiddleware<RequestLoggingMiddleware>();
        app.UseMiddleware<Http.HeadAsGetMiddleware>();
        app.UseExceptionHandler();
        app.UseStatusCodePages(StatusCodeProblems.WriteAsync);
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();

        // What an app embedding Baton maps (Baton.AspNetCore); uptime counts and the metrics exporter listens from here.
        app.MapBatonHealth();
        app.MapBatonMetrics();
        app.MapBatonApi();
        app.MapBatonDashboard();
    }
}
