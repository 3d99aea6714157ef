namespace Baton.Cli.Tests;

/// <summary><c>baton runs ...</c> and <c>baton events send</c>: the real command against the real server process.</summary>
public sealed partial class RunCommandsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task RunsStartWatch_DemoRun_Exit0AndFinalRunAsJson()
    {
        var result = await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":3,"delayMs":0}""", "--watch", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var run = result.Json();
        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal(14, run.GetProperty("output").GetProperty("sum").GetInt64());
    }

    [Fact]
    public async Task RunsStartWatch_FailingRun_Exit1()
    {
        var result = await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":1,"delayMs":0,"fail":true}""", "--watch");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("failed", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunsGet_FinishedFanOut_TableGroupsItemsUnderTheFanOut()
    {
        var id = (await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":4,"delayMs":0}""", "--watch", "--json")).Json().GetProperty("id").GetString()!;

        var result = await BatonProcess.RunAsync(fixture.Server, "runs", "get", id);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("items (4 items)", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("4 succeeded", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("succeeded", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunsList_JsonWithWorkflowFilter_ListsTheStartedRun()
    {
        var id = (await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":1,"delayMs":0}""", "--json")).Json().GetProperty("run").GetProperty("id").GetString();

        var result = await BatonProcess.RunAsync(fixture.Server, "runs", "list", "--workflow", "demo", "--limit", "100", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(result.Json().GetProperty("runs").EnumerateArray(), r => r.GetProperty("id").GetString() == id);
    }

    [Fact]
    public async Task RunsList_MoreThanOnePage_PrintsTheNextPagesWholeCommand()
    {
        // Before: "more: baton runs list --cursor X (with the same filters)", the filters left for the reader to add.
        await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":1,"delayMs":0}""");
        await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":1,"delayMs":0}""");

        var first = await BatonProcess.RunAsync(fixture.Server, "runs", "list", "-w", "demo", "--limit", "1", "--since", "2026-01-01");
        var more = first.Stdout.Split('\n').Single(l => l.StartsWith("more: ", StringComparison.Ordinal)).Trim();
        var command = more["more: ".Length..].Split(' ');
        var second = await BatonProcess.RunAsync(fixture.Server, command[1..]);

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.StartsWith("more: baton runs list --workflow demo --since 2026-01-01 --limit 1 --cursor ", more, StringComparison.Ordinal);
        Assert.True(second.ExitCode == 0, second.ToString());
        // The ids in the tables' rows (the cursor on the "more:" line may look like one).
        var firstIds = RunIds().Matches(string.Concat(first.Stdout.Split('\n').Where(l => !l.StartsWith("more:", StringComparison.Ordinal)))).Select(m => m.Value).ToList();
        var secondIds = RunIds().Matches(string.Concat(second.Stdout.Split('\n').Where(l => !l.StartsWith("more:", StringComparison.Ordinal)))).Select(m => m.Value).ToList();
        Assert.Single(firstIds);
        Assert.Single(secondIds);
        Assert.NotEqual(firstIds[0], secondIds[0]);
    }

    [Fact]
    public async Task RunsList_Parent_OnlyThatRunsChildren()
    {
        var id = (await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":1,"delayMs":0}""", "--json")).Json().GetProperty("run").GetProperty("id").GetString()!;

        var result = await BatonProcess.RunAsync(fixture.Server, "runs", "list", "--parent", id, "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(0, result.Json().GetProperty("runs").GetArrayLength());
    }

    [Fact]
    public async Task RunsGetJson_TheApisShape_NoPropertyTheApiDoesNotHave()
    {
        // Before: the client's computed IsFinished was written as "isFinished", and "moreChildren" was missing.
        var id = (await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":1,"delayMs":0}""", "--watch", "--json")).Json().GetProperty("id").GetString()!;

        var cli = (await BatonProcess.RunAsync(fixture.Server, "runs", "get", id, "--json")).Json();
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        http.DefaultRequestHeaders.Add("X-ADMIN-KEY", fixture.Server.Key);
        using var api = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync($"api/runs/{id}"));

        var cliNames = cli.EnumerateObject().Select(p => p.Name).ToHashSet();
        var apiNames = api.RootElement.EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.Empty(cliNames.Except(apiNames));
        Assert.Contains("moreChildren", cliNames);
    }

    [Fact]
    public async Task RunsCancelThenRetry_LongRun_CancelledThenRetried()
    {
        var id = (await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":1,"delayMs":60000}""", "--json")).Json().GetProperty("run").GetProperty("id").GetString()!;

        var cancel = await BatonProcess.RunAsync(fixture.Server, "runs", "cancel", id, "--json");
        var watch = await BatonProcess.RunAsync(fixture.Server, "runs", "watch", id, "--json");
        var retry = await BatonProcess.RunAsync(fixture.Server, "runs", "retry", id);
        var cancelAgain = await BatonProcess.RunAsync(fixture.Server, "runs", "cancel", id);

        Assert.True(cancel.ExitCode == 0, cancel.ToString());
        Assert.Equal(1, watch.ExitCode);
        Assert.Equal("cancelled", watch.Json().GetProperty("status").GetString());
        Assert.True(retry.ExitCode == 0, retry.ToString());
        Assert.Contains("retried", retry.Stdout, StringComparison.Ordinal);
        // The retried run is active again, so this cancel is accepted; cancelling a finished run is covered by the client tests.
        Assert.True(cancelAgain.ExitCode == 0, cancelAgain.ToString());
    }

    [Fact]
    public async Task RunsCancel_UnknownRun_Exit1WithTheServersDetail()
    {
        var result = await BatonProcess.RunAsync(fixture.Server, "runs", "cancel", new string('0', 32));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("404", result.Stderr, StringComparison.Ordinal);
        Assert.Contains($"no run with id {new string('0', 32)}", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EventsSend_RunWaitingForEvent_RunSucceedsWithPayload()
    {
        var id = (await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":1,"delayMs":0,"waitFor":"approve"}""", "--json")).Json().GetProperty("run").GetProperty("id").GetString()!;

        var sent = await BatonProcess.RunAsync(fixture.Server, "events", "send", id, "approve", "--payload", """{"by":"ops"}""");
        var watch = await BatonProcess.RunAsync(fixture.Server, "runs", "watch", id, "--json");

        Assert.True(sent.ExitCode == 0, sent.ToString());
        Assert.Contains("event approve #", sent.Stdout, StringComparison.Ordinal);
        Assert.True(watch.ExitCode == 0, watch.ToString());
        Assert.Equal("ops", watch.Json().GetProperty("output").GetProperty("event").GetProperty("by").GetString());
    }

    [Fact]
    public async Task RunsStart_InputNotJson_Exit2AndNothingStarted()
    {
        var before = (await BatonProcess.RunAsync(fixture.Server, "runs", "list", "--json")).Json().GetProperty("runs").GetArrayLength();

        var result = await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", "{items:");
        var after = (await BatonProcess.RunAsync(fixture.Server, "runs", "list", "--json")).Json().GetProperty("runs").GetArrayLength();

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--input is not valid JSON", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task RunsStart_InputServerRejects_Exit2WithTheDetail()
    {
        var result = await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":5000}""");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("items must be from 1 to 1000", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunsStart_InputOverTheServersBodyLimit_Exit2WithTheLimit()
    {
        // The server refuses a body over Baton:MaxRequestBodyBytes (1 MiB) with 413: input it rejected, exit 2 by the
        // README's table. Before (review 60): exit 1, as a failed run or a refused request.
        var file = Path.Combine(Path.GetTempPath(), $"baton-cli-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, $$"""{"items":1,"note":"{{new string('x', 1_200_000)}}"}""");
        try
        {
            var result = await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input-file", file);

            Assert.Equal(2, result.ExitCode);
            Assert.Contains("413", result.Stderr, StringComparison.Ordinal);
            Assert.Contains("Baton:MaxRequestBodyBytes", result.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task RunsStart_ConflictDetailQuotingTerminalEscapesFromAnotherRunsInput_StderrShowsThemVisible()
    {
        // The 409 names the concurrency key, which the demo takes from the input's group (anyone's input). Before: the
        // key's ESC and BEL went raw to stderr, and the terminal obeyed them (here: set its title, clear the screen).
        const string Input = """{"items":1,"delayMs":60000,"group":"g\u001b]0;owned\u0007\u001b[2J"}""";
        var first = (await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", Input, "--json")).Json().GetProperty("run").GetProperty("id").GetString()!;

        var second = await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", Input);
        await BatonProcess.RunAsync(fixture.Server, "runs", "cancel", first);

        Assert.True(second.ExitCode == 1, second.ToString());
        Assert.Contains("409 A run is already active", second.Stderr, StringComparison.Ordinal);
        Assert.Contains("'demo:g\\u001b]0;owned\\u0007\\u001b[2J'", second.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(second.Stderr, c => c is '\u001b' or '\u0007');
    }

    [Fact]
    public async Task RunsStartWatch_IdempotencyKeyOfAFinishedRun_SaysItFollowsThatRunNotThatItStartedOne()
    {
        var key = "watch-" + Guid.NewGuid().ToString("N");
        var first = (await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":1,"delayMs":0}""", "--idempotency-key", key, "--watch", "--json"))
            .Json().GetProperty("id").GetString()!;

        var again = await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":1,"delayMs":0}""", "--idempotency-key", key, "--watch");

        // Before: "started <id>", though nothing was started and the run had ended before this command.
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains($"existing run {first} for this idempotency key", again.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("started", again.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("runs", "get")]
    [InlineData("runs", "watch")]
    [InlineData("events", "send")]
    public async Task AnyRunCommand_IdOfARunInUpperCase_Exit2NamingTheLowerCaseId(string group, string verb)
    {
        // Ids copied from a tool that writes hexadecimal in upper case. Before: "no run with id 0193F..." (exit 1) for a run
        // that exists, since the server's "is not a run id (lower-case ...)" was dropped for "no such run".
        var id = (await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":1,"delayMs":0}""", "--json"))
            .Json().GetProperty("run").GetProperty("id").GetString()!;
        string[] args = group == "events" ? [group, verb, id.ToUpperInvariant(), "approve"] : [group, verb, id.ToUpperInvariant()];

        var result = await BatonProcess.RunAsync(fixture.Server, args);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"run ids are lower-case: {id}", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("no run with id", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunsStartWatchJson_FollowingStopsAtAProxys502_StderrNamesTheRunItStarted()
    {
        // The start reaches the server; every read of the run after it meets a proxy's 502. Before: exit 5 with only the 502
        // on stderr, and --json wrote nothing else, so the script had no id for the run it had started (a repeat starts another).
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var proxy = new SummaryBadGateway();

        var exitCode = await BatonCli.RunAsync(
            ["runs", "start", "demo", "--input", """{"items":1,"delayMs":0}""", "--watch", "--json", "--url", fixture.Server.BaseAddress.ToString(), "--key", fixture.Server.Key],
            output, error, terminal: false, proxy);

        Assert.True(exitCode == 5, $"exit {exitCode}: {error}");
        Assert.Equal("", output.ToString());
        var named = System.Text.RegularExpressions.Regex.Match(error.ToString(), "stopped following run ([0-9a-f]{32})");
        Assert.True(named.Success, error.ToString());
        var runs = (await BatonProcess.RunAsync(fixture.Server, "runs", "list", "--workflow", "demo", "--limit", "500", "--json")).Json();
        Assert.Contains(runs.GetProperty("runs").EnumerateArray(), r => r.GetProperty("id").GetString() == named.Groups[1].Value);
        Assert.Contains("502", error.ToString(), StringComparison.Ordinal);
    }

    [System.Text.RegularExpressions.GeneratedRegex("\\b[0-9a-f]{32}\\b")]
    private static partial System.Text.RegularExpressions.Regex RunIds();

    /// <summary>A proxy before the real server that answers every read of one run with its own 502 page.</summary>
    private sealed class SummaryBadGateway() : DelegatingHandler(new SocketsHttpHandler { AllowAutoRedirect = false })
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            request.Method == HttpMethod.Get && request.RequestUri!.AbsolutePath.StartsWith("/api/runs/", StringComparison.Ordinal)
                ? Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.BadGateway)
                {
                    RequestMessage = request,
                    Content = new StringContent("<html><body>502 Bad Gateway</body></html>", System.Text.Encoding.UTF8, "text/html"),
                })
                : base.SendAsync(request, cancellationToken);
    }
}
