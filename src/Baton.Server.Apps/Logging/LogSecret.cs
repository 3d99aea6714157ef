using Microsoft.Extensions.DependencyInjection;

namespace Baton.Server.Logging;

/// <summary>
/// A configured secret (an admin key, an upstream password or API secret) that the server replaces with
/// <c>***</c> wherever it appears in a log line: the message, its values and a logged exception's text, as
/// written and URL-encoded. Values shorter than <see cref="MinimumLength"/> characters are not matched,
/// because masking them would mask ordinary words.
/// </summary>
/// <param name="Value">The secret as configured.</param>
public sealed record LogSecret(string Value)
{
    /// <summary>The shortest value that is matched: 4 characters.</summary>
    public const int MinimumLength = 4;
}

/// <summary>Registers <see cref="LogSecret"/> values.</summary>
public static class LogSecretServiceCollectionExtensions
{
    /// <summary>Adds <paramref name="value"/> to the secrets kept out of the logs; null or blank values are ignored.</summary>
    public static IServiceCollection AddLogSecret(this IServiceCollection services, string? value)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!string.IsNullOrWhiteSpace(value))
        {
            services.AddSingleton(new LogSecret(value.Trim()));
        }

        return services;
    }

    /// <summary>
    /// Adds each value of an OTLP exporter's headers (<c>OTEL_EXPORTER_OTLP_HEADERS</c>: <c>api-key=v1,authorization=Basic v2</c>,
    /// values percent-encoded), as configured and decoded: they are the collector's credentials.
    /// </summary>
    public static IServiceCollection AddHeaderValues(this IServiceCollection services, string? headers)
    {
        ArgumentNullException.ThrowIfNull(services);
        foreach (var pair in (headers ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var value = pair.IndexOf('=', StringComparison.Ordinal) is var equals and >= 0 ? pair[(equals + 1)..].Trim() : "";
            services.AddLogSecret(value);
            services.AddLogSecret(Uri.UnescapeDataString(value));
        }

        return services;
    }

    /// <summary>Adds the password of an ADO.NET connection string (under one of <see cref="Baton.Diagnostics.ConnectionStringText.PasswordKeys"/>); a string without one, or one that does not parse, adds nothing.</summary>
    public static IServiceCollection AddConnectionStringPassword(this IServiceCollection services, string? connectionString)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return services;
        }

        var builder = new System.Data.Common.DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = connectionString;
        }
        catch (ArgumentException)
        {
            // The store's own settings check reports a malformed string.
            return services;
        }

        foreach (var name in Baton.Diagnostics.ConnectionStringText.PasswordKeys)
        {
            if (builder.TryGetValue(name, out var password))
            {
                services.AddLogSecret(password as string);
            }
        }

        return services;
    }
}
