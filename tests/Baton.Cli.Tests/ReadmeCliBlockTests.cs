using System.Diagnostics;

namespace Baton.Cli.Tests;

/// <summary>
/// The README's "The same with the <c>baton</c> command" block, run line by line by bash as a user types it, against a
/// real server with the demo workflow and the catalog sync app: every command works as written.
/// </summary>
public sealed class ReadmeCliBlockTests
{
    [Fact]
    public async Task ReadmeCliBlock_EachLineAsWritten_Exit0()
    {
        var lines = CliBlock();
        Assert.Contains(lines, l => l.StartsWith("baton sync", StringComparison.Ordinal));

        var directory = TestPaths.NewTempDirectory();
        await using var server = await KeyedServer.StartAsync(TestStore.Sqlite, new Dictionary<string, string?>
        {
            ["Baton__Apps__CatalogSync__Enabled"] = "true",
            ["Baton__Apps__CatalogSync__Demo__Enabled"] = "true",
            ["Baton__Apps__CatalogSync__Demo__Products"] = "3000",
            ["Baton__Apps__CatalogSync__DatabasePath"] = Path.Combine(directory, "catalog.db"),
            ["Baton__Apps__CatalogSync__BlobDirectory"] = Path.Combine(directory, "feeds"),
        });

        // `baton` as `dotnet tool install` gives it (a shell function here); the block's install and export lines are the
        // test's set-up.
        var baton = $"baton() {{ dotnet '{BatonProcess.Dll}' \"$@\"; }}";

        // Each line runs in one shell (so RUN=$(...) carries on) and reports its exit code unless it says it exits 1.
        var script = baton + "\n" + string.Join('\n', lines
            .Where(l => !l.StartsWith("dotnet ", StringComparison.Ordinal) && !l.StartsWith("export ", StringComparison.Ordinal))
            .Select((l, i) => l.Contains("(exit 1", StringComparison.Ordinal) ? l : $"{l}\nstatus=$?; [ $status -eq 0 ] || echo \"FAILED with $status: line {i + 1}: {l.Replace("\"", "\\\"", StringComparison.Ordinal).Replace("$", "\\$", StringComparison.Ordinal)}\""));
        var start = new ProcessStartInfo("bash", ["-c", script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        start.Environment["BATON_URL"] = server.BaseAddress.ToString();
        start.Environment["BATON_ADMIN_KEY"] = server.Key;
        start.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout + "\nstderr:\n" + await stderr;

        Assert.DoesNotContain("FAILED with", output, StringComparison.Ordinal);
        Assert.Contains("succeeded", output, StringComparison.Ordinal);
        Assert.Contains("schedule nightly: demo", output, StringComparison.Ordinal);
        // The run the block starts went through cancel, retry and its event to the end.
        var runs = (await BatonProcess.RunAsync(server, "runs", "list", "--workflow", "demo", "--json")).Json().GetProperty("runs").EnumerateArray();
        System.Text.Json.JsonElement? detail = null;
        foreach (var run in runs)
        {
            var candidate = (await BatonProcess.RunAsync(server, "runs", "get", run.GetProperty("id").GetString()!, "--json")).Json();
            if (candidate.GetProperty("input").TryGetProperty("waitFor", out _))
            {
                detail = candidate;
            }
        }

        Assert.True(detail is not null, output);
        Assert.True("succeeded" == detail.Value.GetProperty("status").GetString(), output);
        Assert.Equal(2, detail.Value.GetProperty("executions").GetInt32());
        Assert.Equal("ops", detail.Value.GetProperty("output").GetProperty("event").GetProperty("by").GetString());
    }

    /// <summary>The lines of the first bash block under the README's heading for the command, blank lines left out.</summary>
    private static string[] CliBlock()
    {
        var readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md")).ReplaceLineEndings("\n");
        var section = readme.IndexOf("### The same with the `baton` command", StringComparison.Ordinal);
        Assert.True(section >= 0, "README has no section for the baton command");
        var open = readme.IndexOf("```bash\n", section, StringComparison.Ordinal) + "```bash\n".Length;
        var close = readme.IndexOf("\n```", open, StringComparison.Ordinal);
        return [.. readme[open..close].Split('\n').Where(l => l.Trim().Length > 0)];
    }
}
