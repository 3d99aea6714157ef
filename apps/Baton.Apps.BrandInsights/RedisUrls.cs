namespace Baton.Apps.BrandInsights;

/// <summary>A start-up check of <c>REDIS_URL</c> that never repeats the value (it may hold a password).</summary>
internal static class RedisUrls
{
    /// <summary>Why <paramref name="value"/> is not a Redis address (<c>redis://</c>/<c>rediss://</c> URL or StackExchange <c>host:port,...</c> form), or null.</summary>
    public static string? Problem(string value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return "is empty";
        }

        if (value.Contains("://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("redis" or "rediss"))
            {
                return "is not a redis:// or rediss:// URL";
            }

            if (string.IsNullOrEmpty(uri.Host))
            {
                return "has no host";
            }

            var path = uri.AbsolutePath.Trim('/');
            return path.Length == 0 || (int.TryParse(path, out var db) && db >= 0) ? null : "has a database that is not a number";
        }

        return value.Split(',')[0].Trim().Length == 0 || value.Any(char.IsWhiteSpace) && !value.Contains(',', StringComparison.Ordinal)
            ? "is not a redis:// URL or a host:port"
            : null;
    }
}
