using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Baton.Server.Tests.Api;

/// <summary>
/// The README's "A 5-minute tour with curl": its second-shell block run by bash as written against the real server
/// process with the key the tour starts it with (only the address is the test's port), and what each step prints.
/// </summary>
public sealed partial class ReadmeTourTests
{
    [Fact]
    public async Task ReadmeTour_CurlBlockAsWritten_PrintsWhatItsCommentsSay()
    {
        var (start, block) = TourBlocks();
        var key = KeyAssignment().Match(start).Groups[1].Value;
        Assert.Equal(key, KeyAssignment().Match(block).Groups[1].Value);
        Assert.Contains("B=http://127.0.0.1:3003;", block, StringComparison.Ordinal);

        var environment = ServerEnvironment.OwnHome(null);
        environment["ADMIN_KEY"] = key;
        environment["Baton__Engine__PollInterval"] = null;
        environment["Baton__Engine__ProgressFlushInterval"] = null;
        environment["Baton__Store__Sqlite__Path"] = Path.Combine(TestPaths.NewTempDirectory(), "baton.db");
        await using var server = ServerProcess.Start(environment);
        await server.WaitForLiveAsync();

        var script = block.Replace("B=http://127.0.0.1:3003;", $"B=http://127.0.0.1:{server.Port};", StringComparison.Ordinal);
        var run = new ProcessStartInfo("bash", ["-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var bash = Process.Start(run)!;
        var stdout = bash.StandardOutput.ReadToEndAsync();
        var stderr = bash.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await bash.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            bash.Kill(entireProcessTree: true);
        }

        var output = await stdout;
        var all = output + "\nstderr:\n" + await stderr + "\nserver:\n" + server.Output;
        var lines = output.Split('\n');
        Assert.True(bash.HasExited && bash.ExitCode == 0 && lines.Length > 40, all);

        Assert.StartsWith("OK{", output, StringComparison.Ordinal);                        // /healthz (no newline: the seed's body), then /health
        Assert.Contains("\"status\": \"ready\"", output, StringComparison.Ordinal);        // /health
        Assert.Contains("\"name\": \"demo\"", output, StringComparison.Ordinal);           // /api/workflows
        Assert.Contains(lines, l => l.StartsWith("{\"status\":\"running\",\"phase\":\"processing\",\"progress\":{\"items.done\":", StringComparison.Ordinal));
        Assert.Contains("\"cancel_requested\"", lines);
        Assert.Contains(lines, l => CancelledLine().IsMatch(l));
        Assert.Contains("\"retried\"", lines);
        Assert.Contains(lines, l => l.StartsWith("{\"status\":\"succeeded\",\"executions\":2,\"output\":{\"items\":60,", StringComparison.Ordinal));
        // Idempotency: 202 then 200; concurrency: the second start of the group is 409 naming the run that holds it.
        var codes = lines.Where(l => Regex.IsMatch(l, "^[0-9]{3}$")).ToArray();
        Assert.Equal(["202", "200", "204", "409"], codes);
        Assert.Contains(lines, l => l.StartsWith("{\"status\":409,\"detail\":\"run ", StringComparison.Ordinal) && l.Contains("holds concurrency key 'demo:nightly'", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("{\"name\":\"every-5-min\",\"nextFireAt\":\"", StringComparison.Ordinal));
        Assert.Contains("{\"status\":\"suspended\",\"phase\":\"waiting for approved\"}", lines);
        Assert.Contains(lines, l => l.StartsWith("{\"runId\":", StringComparison.Ordinal) && l.EndsWith("\"duplicate\":false}", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("{\"status\":\"succeeded\",\"event\":{\"by\":\"ann\"},\"events\":[{\"name\":\"approved\",\"sequence\":", StringComparison.Ordinal));
        Assert.Contains("\"type\": \"urn:baton:problem:invalid-schedule\",", output, StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("baton_runs_started_total{workflow=\"demo\"}", StringComparison.Ordinal));
        Assert.Contains("/api/workflows/{name}/runs", lines);
    }

    /// <summary>The tour's start command and the block run in the second shell.</summary>
    private static (string Start, string Block) TourBlocks()
    {
        var readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md")).ReplaceLineEndings("\n");
        var tour = readme.IndexOf("## A 5-minute tour with curl", StringComparison.Ordinal);
        Assert.True(tour >= 0, "README has no tour");
        string Block(int from, out int end)
        {
            var open = readme.IndexOf("```bash\n", from, StringComparison.Ordinal) + "```bash\n".Length;
            end = readme.IndexOf("\n```", open, StringComparison.Ordinal);
            return readme[open..end];
        }

        var start = Block(tour, out var end);
        return (start, Block(end + 4, out _));
    }

    [GeneratedRegex("(?:ADMIN_KEY|KEY)=([A-Za-z0-9-]+)")]
    private static partial Regex KeyAssignment();

    [GeneratedRegex("""^\{"status":"cancelled","done":[0-9]+,"failure":"cancelled by request"\}$""")]
    private static partial Regex CancelledLine();
}
