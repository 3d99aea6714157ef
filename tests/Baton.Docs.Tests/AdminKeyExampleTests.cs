using System.Text.RegularExpressions;

namespace Baton.Docs.Tests;

/// <summary>The admin keys the docs' examples start the server with are ones it takes without a warning.</summary>
public sealed partial class AdminKeyExampleTests
{
    [Fact]
    public void DocExamples_AdminKeys_AreAtLeast16Characters()
    {
        // The server warns at start about a key under 16 characters (EventId 1009, "makes it guessable"). Before
        // (review 81): the app READMEs started it with ADMIN_KEY=tour-key, so following them printed that warning.
        string[] docs = ["README.md", .. Directory.GetFiles(Path.Combine(Repository.Root, "apps"), "README.md", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(Path.Combine(Repository.Root, "samples"), "README.md", SearchOption.AllDirectories))
            .Concat(Directory.GetFiles(Path.Combine(Repository.Root, "tools"), "README.md", SearchOption.AllDirectories))
            .Select(f => Path.GetRelativePath(Repository.Root, f))];

        var keys = docs.SelectMany(d => Key().Matches(Repository.ReadText(d)).Select(m => (Doc: d, Key: m.Groups[1].Value))).ToList();
        var shortKeys = keys.Where(k => k.Key.Length < 16).Select(k => $"{k.Doc}: {k.Key}").Distinct().ToList();

        Assert.True(keys.Count >= 5, $"expected the docs' examples to set keys, found {keys.Count}");
        Assert.True(shortKeys.Count == 0, "keys under 16 characters: " + string.Join(", ", shortKeys));
    }

    // ADMIN_KEY=value or an X-ADMIN-KEY header with a literal value (not ..., $KEY, <key> or $(openssl ...)).
    [GeneratedRegex(@"(?:ADMIN_KEY=|X-ADMIN-KEY: )([A-Za-z0-9][A-Za-z0-9_-]*)")]
    private static partial Regex Key();
}
