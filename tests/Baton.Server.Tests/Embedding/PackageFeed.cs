namespace Baton.Server.Tests.Embedding;

/// <summary>
/// The local folder feed <c>scripts/test.sh</c> fills with <c>dotnet pack</c> (<c>BATON_PACKAGE_FEED</c>, else
/// <c>artifacts/packages</c> under the repository).
/// </summary>
internal static class PackageFeed
{
    public static string Directory { get; } =
        Environment.GetEnvironmentVariable("BATON_PACKAGE_FEED") is { Length: > 0 } fromEnv ? fromEnv : Path.Combine(TestPaths.RepoRoot, "artifacts", "packages");

    /// <summary>In CI (<c>CI</c> set, or the test script exported the feed) a missing feed fails the test instead of skipping it.</summary>
    public static bool InCi { get; } =
        Environment.GetEnvironmentVariable("CI") is { Length: > 0 } || Environment.GetEnvironmentVariable("BATON_PACKAGE_FEED") is { Length: > 0 };

    /// <summary>The version of the Baton packages in the feed (from <c>Baton.AspNetCore.&lt;version&gt;.nupkg</c>), or null without one.</summary>
    public static string? Version()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return null;
        }

        const string Prefix = "Baton.AspNetCore.";
        return System.IO.Directory.EnumerateFiles(Directory, Prefix + "*.nupkg")
            .Select(Path.GetFileName)
            .Select(name => name![Prefix.Length..^".nupkg".Length])
            .Where(version => char.IsDigit(version[0]))
            .OrderByDescending(version => version, StringComparer.Ordinal)
            .FirstOrDefault();
    }
}

/// <summary>
/// A fact that needs the packed feed: skipped with the reason outside CI when the feed holds no Baton packages (run
/// <c>scripts/test.sh</c>, or <c>dotnet pack Baton.slnx -c Release -o artifacts/packages</c>); in CI it runs and fails instead.
/// </summary>
internal sealed class PackageFeedFactAttribute : FactAttribute
{
    public PackageFeedFactAttribute()
    {
        if (!PackageFeed.InCi && PackageFeed.Version() is null)
        {
            Skip = $"no Baton packages in {PackageFeed.Directory}: run scripts/test.sh or `dotnet pack Baton.slnx -c Release -o artifacts/packages` first";
        }
    }
}
