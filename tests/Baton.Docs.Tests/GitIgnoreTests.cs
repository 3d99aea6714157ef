using System.Diagnostics;

namespace Baton.Docs.Tests;

/// <summary>What the README's commands leave in the work tree is ignored by git, so `git status` stays clean after them.</summary>
public sealed class GitIgnoreTests
{
    [Fact]
    public async Task GitIgnore_FilesTheReadmesCommandsLeave_AreIgnored()
    {
        // `dotnet run --project src/Baton.Server` (command 1, the tour): the store with its WAL and its ownership lock, the
        // catalog database and its feed files; samples/EmbeddedHost's `dotnet run`: its store beside its project.
        string[] written =
        [
            "src/Baton.Server/data/baton.db",
            "src/Baton.Server/data/baton.db-wal",
            "src/Baton.Server/data/baton.db-shm",
            "src/Baton.Server/data/baton.db.lock",
            "src/Baton.Server/data/catalog/catalog.db",
            "src/Baton.Server/data/catalog/catalog.db-wal",
            "src/Baton.Server/data/catalog/feeds/01a25323a85c74a892c178d027963650.ndjson.part",
            "samples/EmbeddedHost/baton.db",
            "samples/EmbeddedHost/baton.db.lock",
            "artifacts/packages/Baton.Core.0.1.0.nupkg",
        ];

        var start = new ProcessStartInfo("git", ["check-ignore", "--no-index", "--verbose", "--non-matching", "--stdin"])
        {
            WorkingDirectory = Repository.Root,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var git = Process.Start(start)!;
        await git.StandardInput.WriteAsync(string.Join('\n', written) + "\n");
        git.StandardInput.Close();
        var output = await git.StandardOutput.ReadToEndAsync();
        var errors = await git.StandardError.ReadToEndAsync();
        await git.WaitForExitAsync();

        // --non-matching prints "::\t<path>" for a path no pattern ignores.
        var notIgnored = output.Split('\n').Where(l => l.StartsWith("::\t", StringComparison.Ordinal)).Select(l => l[3..]).ToList();
        Assert.True(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == written.Length, output + errors);
        Assert.True(notIgnored.Count == 0, "not ignored by .gitignore: " + string.Join(", ", notIgnored));
    }
}
