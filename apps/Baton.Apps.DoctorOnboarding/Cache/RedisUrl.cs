using System.Globalization;
using StackExchange.Redis;

namespace Baton.Apps.DoctorOnboarding.Cache;

/// <summary>Reads seed 004's <c>REDIS_URL</c>: <c>redis://[user][:password@]host[:port][/db]</c> (as node-redis/ioredis take it), <c>rediss://</c> for TLS, or a StackExchange.Redis configuration string.</summary>
internal static class RedisUrl
{
    /// <summary>Null and the options, or an error message (without the password) and null options.</summary>
    public static string? TryParse(string text, out ConfigurationOptions? options)
    {
        options = null;
        if (!text.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) && !text.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                options = ConfigurationOptions.Parse(text);
                return options.EndPoints.Count == 0 ? "no host in the configuration string" : null;
            }
            catch (ArgumentException)
            {
                return "not a redis:// URL nor a StackExchange.Redis configuration string";
            }
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
        {
            return "not a valid redis:// URL";
        }

        options = new ConfigurationOptions { Ssl = uri.Scheme.Equals("rediss", StringComparison.OrdinalIgnoreCase) };
        options.EndPoints.Add(uri.Host, uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port);
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            if (parts[0].Length > 0)
            {
                options.User = Uri.UnescapeDataString(parts[0]);
            }

            if (parts.Length == 2)
            {
                options.Password = Uri.UnescapeDataString(parts[1]);
            }
        }

        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0)
        {
            if (!int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out var db) || db > 15)
            {
                options = null;
                return "the database in the URL's path must be a number from 0 to 15";
            }

            options.DefaultDatabase = db;
        }

        return null;
    }
}
