namespace Baton.Docs.Tests;

/// <summary>The README's way to try samples/EmbeddedHost by hand is the sample's own, with a key and an address the user knows.</summary>
public sealed class EmbeddedHostDocTests
{
    [Fact]
    public void Readme_TryTheSampleByHand_RunsItAsItsReadmeDoes()
    {
        // Before (review 81): the README said `ADMIN_KEY=$(openssl rand -hex 16) dotnet run`, a key printed nowhere (the
        // sample generates none and logs none), so the user could not call the API it started; its own README gives a
        // key, an address and the curl that starts a run.
        var sample = Repository.ReadText("samples/EmbeddedHost/README.md").ReplaceLineEndings("\n").Split('\n');
        var run = sample.Single(l => l.StartsWith("ADMIN_KEY=", StringComparison.Ordinal) && l.EndsWith("dotnet run", StringComparison.Ordinal));
        var readme = Repository.ReadText("README.md").ReplaceLineEndings(" ");

        Assert.Contains($"`cd samples/EmbeddedHost && {run}`", readme, StringComparison.Ordinal);
        Assert.Contains("[samples/EmbeddedHost/README.md](samples/EmbeddedHost/README.md)", readme, StringComparison.Ordinal);
    }
}
