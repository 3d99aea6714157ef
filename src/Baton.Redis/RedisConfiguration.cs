using System.Globalization;
using StackExchange.Redis;

namespace Baton.Redis;

/// <summary>Reads a Redis configuration in the URL form (<c>redis://</c>, <c>rediss://</c>) or StackExchange's form.</summary>
public static class RedisConfiguration
{
    /// <summary>
    /// Parses <paramref name="configuration"/>: a URL <c>redis://[[user]:password@]host[:port][/db]</c> (<c>rediss://</c>
    /// turns TLS on; the port defaults to 6379) or StackExchange's form (<c>host:port,password=...,ssl=true</c>).
    /// The result never aborts on a failed first connection (it keeps retrying in the background).
    /// </summary>
    /// <exception cref="ArgumentException">The text is empty or not a valid configuration; the message never holds the password.</exception>
    public static ConfigurationOptions Parse(string configuration)
    {
        if (string.IsNullOrWhiteSpace(configuration))
        {
            throw new ArgumentException("A Redis configuration is required (redis://host:port or host:port).", nameof(configuration));
        }

        var text = configuration.Trim();
        ConfigurationOptions options;
        if (text.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase))
        {
            options = ParseUrl(text);
        }
        else if (text.Contains("://", StringComparison.Ordinal))
        {
            // Another scheme (http://, tcp://...) is never StackExchange's form either; refuse it here rather than let it
            // parse into an endpoint named after the whole text.
            throw new ArgumentException("The Redis URL is not valid (expected redis:// or rediss://).", nameof(configuration));
        }
        else
        {
            try
            {
                options = ConfigurationOptions.Parse(text);
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or NotSupportedException)
            {
                throw new ArgumentException("The Redis configuration is not valid (expected redis://host:port or host:port,option=value).", nameof(configuration));
            }
        }

        if (options.EndPoints.Count == 0)
        {
            throw new ArgumentException("The Redis configuration names no host.", nameof(configuration));
        }

        options.AbortOnConnectFail = false;
        return options;
    }

    /// <summary>The endpoints, database and TLS flag of <paramref name="options"/>, without any secret.</summary>
    public static string Describe(ConfigurationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var endpoints = string.Join(",", options.EndPoints.Select(EndPointText));
        return $"{endpoints}/{options.DefaultDatabase ?? 0}{(options.Ssl ? " (tls)" : "")}";
    }

    private static string EndPointText(System.Net.EndPoint endPoint) => endPoint switch
    {
        System.Net.DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        System.Net.IPEndPoint ip => ip.ToString(),
        _ => endPoint.ToString() ?? "",
    };

    private static ConfigurationOptions ParseUrl(string configuration)
    {
        if (!Uri.TryCreate(configuration, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException("The Redis URL is not valid (expected redis://[:password@]host[:port][/db]).", nameof(configuration));
        }

        var options = new ConfigurationOptions { Ssl = uri.Scheme.Equals("rediss", StringComparison.OrdinalIgnoreCase) };
        var host = uri.Host.Trim('[', ']');
        options.EndPoints.Add(host, uri.IsDefaultPort || uri.Port <= 0 ? 6379 : uri.Port);
        if (uri.UserInfo is { Length: > 0 } userInfo)
        {
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            var user = Uri.UnescapeDataString(colon < 0 ? "" : userInfo[..colon]);
            var password = Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo[(colon + 1)..]);
            options.User = user.Length > 0 ? user : null;
            options.Password = password.Length > 0 ? password : null;
        }

        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0)
        {
            if (!int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out var database))
            {
                throw new ArgumentException("The database in a Redis URL is a number (redis://host:port/0).", nameof(configuration));
            }

            options.DefaultDatabase = database;
        }

        return options;
    }
}
