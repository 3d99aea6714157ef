using System.Text.RegularExpressions;

namespace Baton.Docs.Tests;

/// <summary>RELIABILITY.md lists tests that exist: every test name it quotes matches a test in the suite.</summary>
public sealed partial class ReliabilityDocTests
{
    [Fact]
    public void ReliabilityDoc_EveryQuotedTestName_ExistsInTheSuite()
    {
        var quoted = QuotedTestNames(Repository.ReadText("RELIABILITY.md"));
        Assert.True(quoted.Count > 50, $"expected the doc to quote its tests, found {quoted.Count} names");

        var missing = quoted.Where(name => !Exists(name)).ToList();

        Assert.True(missing.Count == 0, "RELIABILITY.md names tests that are not in the suite: " + string.Join(", ", missing));
    }

    [Theory]
    [InlineData("ReliabilityDoc_EveryQuotedTestName_ExistsInTheSuite", true)]
    [InlineData("ReliabilityDocTests", true)]
    [InlineData("ReliabilityDocTests.ReliabilityDoc_EveryQuotedTestName_ExistsInTheSuite", true)]
    [InlineData("ReliabilityDoc_Every…", true)]
    [InlineData("…QuotedTestName_ExistsInTheSuite", true)]
    [InlineData("ReliabilityDoc_*", true)]
    [InlineData("ReliabilityDoc_NoSuchTest_Ever", false)]
    [InlineData("NoSuchClassTests", false)]
    [InlineData("ReliabilityDocTests.NoSuchMethod_Ever", false)]
    public void Exists_QuotedName_MatchesOnlyTestsInTheSuite(string name, bool expected) => Assert.Equal(expected, Exists(name));

    [Fact]
    public void QuotedTestNames_SettingsPathsAndPlainWords_AreNotTakenForTests()
    {
        var names = QuotedTestNames(
            "`Baton__Engine__StartRunsLocally=false` `ix_runs_free` `ProcessCrashSafe` `tests/Baton.CrashHost` " +
            "`Some_Test_Name(streamed: true)` `OtherTests` `Class.Method_Does_This` `WORKER_NODE_URL` `MAX_RETRIES`");

        Assert.Equal(["Some_Test_Name", "OtherTests", "Class.Method_Does_This"], names);
    }

    /// <summary>
    /// The names in backticks that are test names: a test class (<c>…Tests</c>), a test method in
    /// <c>Method_Scenario_Expected</c> form, or <c>Class.Method</c>, never all capitals (an environment variable);
    /// arguments in parentheses are dropped, and
    /// <c>…</c> or <c>*</c> stands for any text.
    /// </summary>
    private static List<string> QuotedTestNames(string markdown) =>
        [.. Backticked().Matches(markdown)
            .Select(m => m.Groups[1].Value)
            .Select(token => token.Split('(')[0].Trim())
            // An environment variable (WORKER_NODE_URL) has no lower-case letter; a test name always has.
            .Where(token => TestName().IsMatch(token) && !token.Contains("__", StringComparison.Ordinal) && token.Any(char.IsLower))
            .Distinct(StringComparer.Ordinal)];

    private static bool Exists(string name)
    {
        var pattern = new Regex(
            "^" + Regex.Escape(name).Replace("…", ".*", StringComparison.Ordinal).Replace(@"\*", ".*", StringComparison.Ordinal) + "$",
            RegexOptions.CultureInvariant);
        if (name.Contains('.', StringComparison.Ordinal))
        {
            return TestCatalog.Methods.Any(pattern.IsMatch);
        }

        return TestCatalog.Classes.Any(c => c.EndsWith("Tests", StringComparison.Ordinal) && pattern.IsMatch(c))
            || TestCatalog.Methods.Any(m => pattern.IsMatch(m[(m.IndexOf('.', StringComparison.Ordinal) + 1)..]));
    }

    [GeneratedRegex("`([^`\n]+)`")]
    private static partial Regex Backticked();

    // A class ending in Tests (optionally .Method), Class.Method_Scenario, or an underscore-separated method name
    // starting with a capital, with … or * as wildcards; no spaces, slashes or '='.
    [GeneratedRegex(@"^(?:[A-Z][A-Za-z0-9]*Tests(?:\.[A-Za-z0-9_…*]+)?|[A-Z][A-Za-z0-9]*\.[A-Z…][A-Za-z0-9…*]*(?:_[A-Za-z0-9…*]+)+|…?[A-Z…][A-Za-z0-9…*]*(?:_[A-Za-z0-9…*]+)+|…[A-Za-z0-9…*]*(?:_[A-Za-z0-9…*]+)+)$")]
    private static partial Regex TestName();
}
