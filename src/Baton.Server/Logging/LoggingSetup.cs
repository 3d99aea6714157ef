namespace Baton.Server.Logging;

internal static class LoggingSetup
{
    /// <summary>
    /// JSON console with scopes outside Development (one object per line for log shippers), the simple
    /// console in Development. The framework's request-start/finish lines write the raw URL, query and
    /// all (a <c>?key=</c> included), so that category is held at Warning whatever the configuration says.
    /// </summary>
    public static void Configure(WebApplicationBuilder builder)
    {
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
    }
}
