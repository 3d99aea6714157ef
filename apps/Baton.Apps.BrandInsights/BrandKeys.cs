namespace Baton.Apps.BrandInsights;

/// <summary>
/// The Redis keys: seed 001's (<c>brands:list</c>, <c>result:brand:&lt;brand&gt;:chunks</c>, <c>summary:brand:&lt;brand&gt;</c>,
/// <c>failed:brand:&lt;brand&gt;</c>) and Baton's own under <c>baton:brand-insights:</c>. Built by concatenation as the
/// seed builds them, so a brand may hold <c>:</c> or spaces.
/// </summary>
internal static class BrandKeys
{
    public const string BrandsList = "brands:list";
    private const string ListPrefix = "result:brand:";
    private const string ListSuffix = ":chunks";

    public static string Chunks(string brand) => ListPrefix + brand + ListSuffix;

    public static string Summary(string brand) => "summary:brand:" + brand;

    public static string Failed(string brand) => "failed:brand:" + brand;

    /// <summary>The merged aggregate (JSON) the summary is rebuilt from.</summary>
    public static string State(string brand) => "baton:brand-insights:state:" + brand;

    /// <summary>The set of chunk ids merged into the brand's state.</summary>
    public static string Merged(string brand) => "baton:brand-insights:merged:" + brand;

    /// <summary>The set of distinct mentions of one merged cluster with a centroid (<paramref name="seq"/> is its creation number).</summary>
    public static string Mentions(string brand, long seq) => "baton:brand-insights:mentions:" + brand + ":" + seq.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The brand of a chunk list key, or null for another key.</summary>
    public static string? BrandOf(string listKey) =>
        listKey.Length > ListPrefix.Length + ListSuffix.Length && listKey.StartsWith(ListPrefix, StringComparison.Ordinal) && listKey.EndsWith(ListSuffix, StringComparison.Ordinal)
            ? listKey[ListPrefix.Length..^ListSuffix.Length]
            : null;
}
