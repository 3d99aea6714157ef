using Microsoft.Extensions.Configuration.Memory;

namespace Baton.Server.Logging;

internal static class LoggingSetup
{
    /// <summary>
    /// JSON console with scopes outside Development (one object per line for log shippers), the simple
    /// console in Development. The framework's request-start/finish lines write the raw URL, query and
    /// all (a <c>?key=</c> included), so that category is held at Warning whatever the configuration says.
    /// The rest of <c>Microsoft.AspNetCore</c> (endpoint and result lines, four per request) defaults to
    /// Warning even without an appsettings.json (a server started from another directory reads none);
    /// any configured <c>Logging:LogLevel:Microsoft.AspNetCore</c> overrides that default.
    /// </summary>
    public static void Configure(WebApplicationBuilder builder)
    {
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = [new("Logging:LogLevel:Microsoft.AspNetCore", nameof(LogLevel.Warning))],
        });
        builder.Logging.ClearProviders();
        if (builder.Environment.IsDevelopment())
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.IncludeScopes = false;
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            });
        }
        else
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }

        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.HttpLogging", LogLevel.None);
        // The scheme's base class adds two Information lines to each refusal ("not authenticated", "challenged");
        // the handler's own Warning (EventId 1200: method, path, missing or wrong) says it once.
        builder.Logging.AddFilter("Baton.Server.Auth.AdminKeyAuthenticationHandler", LogLevel.Warning);
    }
}
