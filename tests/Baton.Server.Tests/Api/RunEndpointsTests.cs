using System.Net;
using System.Text.Json;
using Baton.Server.Tests.Infrastructure;

namespace Baton.Server.Tests.Api;

public sealed class RunEndpointsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private InProcessServer Server => fixture.Server;

    [Fact]
    public async Task StartRun_ValidInput_Returns202WithRunAndLinks()
    {
        using var response = await Server.Client.PostAsync("/api/workflows/quick/runs", InProcessServer.Json("""{"n":21}"""));
        var body = await InProcessServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = body.GetProperty("id").GetString()!;
        Assert.Matches("^[0-9a-f]{32}$", id);
        Assert.Equal("quick", body.GetProperty("workflow").GetString());
        Assert.Contains(body.GetProperty("status").GetString(), new[] { "pending", "running", "succeeded" });
        Assert.Equal($"/api/runs/{id}", body.GetProperty("links").GetProperty("self").GetString());
        Assert.Equal($"/api/runs/{id}/cancel", body.GetProperty("links").GetProperty("cancel").GetString());
        Assert.Equal($"/api/runs/{id}", response.Headers.Location?.OriginalString);

        var done = await Server.WaitForStatusAsync(id, "succeeded");
        Assert.Equal(42, done.GetProperty("output").GetInt32());
        Assert.Equal(21, done.GetProperty("input").GetProperty("n").GetInt32());
    }

    [Fact]
    public async Task GetRun_DemoRun_ShowsMovingProgressPhasesStepsAndAttempts()
    {
        // 500 ms per item: the mid-run state this test must observe lasts about 3.5 s, not 1 s (a test host stalled
        // for a second on a loaded 2-core machine saw the run already finished and polled for 30 s in vain).
        var (status, started) = await Server.StartRunAsync("demo", """{"items":8,"delayMs":500,"parallelism":1}""");
        Assert.Equal(HttpStatusCode.Accepted, status);
        var id = started.GetProperty("id").GetString()!;

        // Progress is visible while the run is still going.
        var midway = await Poll.UntilAsync(
            () => Server.GetRunAsync(id),
            run => run.GetProperty("status").GetString() == "running"
                && run.GetProperty("progress").TryGetProperty("items.done", out var d) && d.GetInt64() is > 0 and < 8,
            "the demo's items.done counter to move");
        Assert.Equal("processing", midway.GetProperty("phase").GetString());
        Assert.Equal(8, midway.GetProperty("progress").GetProperty("items.total").GetInt64());

        var done = await Server.WaitForStatusAsync(id, "succeeded");
        Assert.Equal(8, done.GetProperty("progress").GetProperty("items.done").GetInt64());
        Assert.Equal("done", done.GetProperty("phase").GetString());
        Assert.Equal(204, done.GetProperty("output").GetProperty("sum").GetInt64());
        Assert.Equal(JsonValueKind.Null, done.GetProperty("failure").ValueKind);
        Assert.NotEqual(JsonValueKind.Null, done.GetProperty("completedAt").ValueKind);

        var steps = done.GetProperty("steps").EnumerateArray().ToList();
        Assert.Equal(10, steps.Count);
        var prepare = steps.Single(s => s.GetProperty("key").GetString() == "prepare");
        Assert.Equal("succeeded", prepare.GetProperty("status").GetString());
        Assert.Equal(8, prepare.GetProperty("result").GetArrayLength());
        Assert.True(prepare.GetProperty("durationMs").GetDouble() >= 100);
        var attempt = Assert.Single(prepare.GetProperty("attempts").EnumerateArray());
        Assert.Equal(1, attempt.GetProperty("attempt").GetInt32());
        Assert.Equal("succeeded", attempt.GetProperty("outcome").GetString());
        Assert.NotEqual(JsonValueKind.Null, attempt.GetProperty("endedAt").ValueKind);
        Assert.Contains(steps, s => s.GetProperty("key").GetString() == "items/8" && s.GetProperty("result").GetInt64() == 64);
    }

    [Fact]
    public async Task GetRunSummary_EndedDemoRun_ListShapeWithProgressAndNoSteps()
    {
        var (_, started) = await Server.StartRunAsync("demo", """{"items":3,"delayMs":0}""");
        var id = started.GetProperty("id").GetString()!;
        var details = await Server.WaitForStatusAsync(id, "succeeded");

        using var response = await Server.Client.GetAsync($"/api/runs/{id}/summary");
        var summary = await InProcessServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(id, summary.GetProperty("id").GetString());
        Assert.Equal("succeeded", summary.GetProperty("status").GetString());
        Assert.Equal("done", summary.GetProperty("phase").GetString());
        Assert.Equal(3, summary.GetProperty("progress").GetProperty("items.done").GetInt64());
        Assert.Equal(details.GetProperty("updatedAt").GetDateTimeOffset(), summary.GetProperty("updatedAt").GetDateTimeOffset());
        Assert.Equal($"/api/runs/{id}", summary.GetProperty("links").GetProperty("self").GetString());
        Assert.False(summary.TryGetProperty("steps", out _));
        Assert.False(summary.TryGetProperty("output", out _));
    }

    [Fact]
    public async Task GetRunSummary_AndTheList_HaveTheFieldsTheReadmeNames()
    {
        // Before (review 81): the README's summary row listed id, workflow, status, phase, progress, createdAt, startedAt,
        // completedAt, updatedAt and links; the summary and the list also carry scheduleName and workflowVersion.
        var (_, started) = await Server.StartRunAsync("demo", """{"items":1,"delayMs":0}""");
        var id = started.GetProperty("id").GetString()!;
        await Server.WaitForStatusAsync(id, "succeeded");

        using var summary = await Server.Client.GetAsync($"/api/runs/{id}/summary");
        using var list = await Server.Client.GetAsync("/api/runs?limit=1");
        var summaryFields = (await InProcessServer.ReadJsonAsync(summary)).EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal);
        var listFields = (await InProcessServer.ReadJsonAsync(list)).GetProperty("runs")[0].EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal);
        var readme = await File.ReadAllTextAsync(Path.Combine(TestPaths.RepoRoot, "README.md"));
        var row = readme.Split('\n').Single(l => l.StartsWith("| `GET /api/runs/{id}/summary` |", StringComparison.Ordinal));
        var open = row.IndexOf("as in the list (", StringComparison.Ordinal) + "as in the list (".Length;
        var documented = row[open..row.IndexOf(')', open)].Split(", ").Select(f => f.Trim('`')).Order(StringComparer.Ordinal);

        Assert.Equal(listFields, summaryFields);
        Assert.Equal(summaryFields, documented);
    }

    [Fact]
    public async Task StartRun_Answer_IsTheRunAsInTheListAsTheReadmeSays()
    {
        // Before (review 81): the README's start row said 202 with {id, workflow, status, phase, progress, links}; the answer
        // is the run as a list entry shows it, with its times, scheduleName and workflowVersion too.
        var (status, started) = await Server.StartRunAsync("demo", """{"items":1,"delayMs":0}""");
        var id = started.GetProperty("id").GetString()!;
        await Server.WaitForStatusAsync(id, "succeeded");
        using var list = await Server.Client.GetAsync("/api/runs?limit=1");
        var listFields = (await InProcessServer.ReadJsonAsync(list)).GetProperty("runs")[0].EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal);
        var readme = await File.ReadAllTextAsync(Path.Combine(TestPaths.RepoRoot, "README.md"));
        var row = readme.Split('\n').Single(l => l.StartsWith("| `POST /api/workflows/{name}/runs` |", StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal(listFields, started.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Contains("`202` with the run as in the list (see `GET /api/runs/{id}/summary`) and `Location`", row, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef")]
    [InlineData("not-a-run-id")]
    public async Task GetRunSummary_UnknownOrMalformedId_Returns404Problem(string id)
    {
        using var response = await Server.Client.GetAsync($"/api/runs/{id}/summary");
        var body = await InProcessServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("urn:baton:problem:run-not-found", body.GetProperty("type").GetString());
    }

    [Fact]
    public async Task StartRun_UnknownInputField_Returns400NamingItAndStartsNothing()
    {
        var key = Guid.NewGuid().ToString();
        var (status, body) = await Server.StartRunAsync("demo", """{"itemz":5}""", key);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("urn:baton:problem:invalid-input", body.GetProperty("type").GetString());
        Assert.Contains("'itemz'", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        // Nothing was stored under the key: a corrected start creates the run.
        var (corrected, _) = await Server.StartRunAsync("demo", """{"items":1,"delayMs":0}""", key);
        Assert.Equal(HttpStatusCode.Accepted, corrected);
    }

    [Theory]
    [InlineData("""{"items":1,"items":1000}""")]
    [InlineData("""{"items":1,"delayMs":0,"nested":{"a":1,"a":2}}""")]
    public async Task StartRun_ANameTwiceInOneObject_Returns400AndStartsNothing(string input)
    {
        // Before: the workflow read the last value (1,000 items) while the run's page showed both.
        var key = Guid.NewGuid().ToString();
        var (status, body) = await Server.StartRunAsync("demo", input, key);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("not valid JSON", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("duplicate", body.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
        var (corrected, _) = await Server.StartRunAsync("demo", """{"items":1,"delayMs":0}""", key);
        Assert.Equal(HttpStatusCode.Accepted, corrected);
    }

    [Fact]
    public async Task StartRun_APropertyNameOfHalfASurrogatePair_Returns400()
    {
        // The duplicate-name check decodes every name; .NET throws InvalidOperationException for this one (a 500 until caught).
        var (status, body) = await Server.StartRunAsync("demo", """{"\udfff":1}""", null);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("half a surrogate pair", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartRun_SameIdempotencyKey_Returns200WithTheSameRun()
    {
        var key = Guid.NewGuid().ToString();
        var (firstStatus, first) = await Server.StartRunAsync("quick", """{"n":1}""", key);
        var (secondStatus, second) = await Server.StartRunAsync("quick", """{"n":1}""", key);

        Assert.Equal(HttpStatusCode.Accepted, firstStatus);
        Assert.Equal(HttpStatusCode.OK, secondStatus);
        Assert.Equal(first.GetProperty("id").GetString(), second.GetProperty("id").GetString());
        var run = await Server.GetRunAsync(first.GetProperty("id").GetString()!);
        Assert.Equal(key, run.GetProperty("idempotencyKey").GetString());
    }

    [Fact]
    public async Task StartRun_UnknownWorkflow_Returns404Problem()
    {
        var (status, body) = await Server.StartRunAsync("no-such-workflow");

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("urn:baton:problem:workflow-not-found", body.GetProperty("type").GetString());
        Assert.Contains("no-such-workflow", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartRun_InputOutOfRange_Returns400Problem()
    {
        var (status, body) = await Server.StartRunAsync("demo", """{"items":0}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("urn:baton:problem:invalid-input", body.GetProperty("type").GetString());
        Assert.Contains("items must be from 1 to 1000", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartRun_GroupAlreadyActive_Returns409NamingTheActiveRun()
    {
        var group = Guid.NewGuid().ToString("N");
        var (status, active) = await Server.StartRunAsync("demo", $$"""{"items":50,"delayMs":200,"group":"{{group}}"}""");
        Assert.Equal(HttpStatusCode.Accepted, status);
        var activeId = active.GetProperty("id").GetString()!;

        var (conflictStatus, conflict) = await Server.StartRunAsync("demo", $$"""{"items":1,"group":"{{group}}"}""");

        Assert.Equal(HttpStatusCode.Conflict, conflictStatus);
        Assert.Equal("urn:baton:problem:concurrency-conflict", conflict.GetProperty("type").GetString());
        Assert.Equal(activeId, conflict.GetProperty("activeRun").GetProperty("id").GetString());
        Assert.Contains(activeId, conflict.GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var cancel = await Server.Client.PostAsync($"/api/runs/{activeId}/cancel", null);
        await Server.WaitForStatusAsync(activeId, "cancelled");
    }

    [Fact]
    public async Task ListRuns_FiltersAndCursor_PageNewestFirst()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var (_, run) = await Server.StartRunAsync("quick", $$"""{"n":{{i}}}""");
            ids.Add(run.GetProperty("id").GetString()!);
        }

        foreach (var id in ids)
        {
            await Server.WaitForStatusAsync(id, "succeeded");
        }

        var after = before.ToString("O");
        using var firstResponse = await Server.Client.GetAsync($"/api/runs?workflow=quick&status=succeeded&createdAfter={Uri.EscapeDataString(after)}&limit=2");
        Assert.Equal(HttpStatusCode.OK, firstResponse.StatusCode);
        var first = await InProcessServer.ReadJsonAsync(firstResponse);
        var firstIds = first.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetString()!).ToList();
        Assert.Equal(2, firstIds.Count);
        var cursor = first.GetProperty("nextCursor").GetString();
        Assert.NotNull(cursor);
        Assert.Contains("cursor=", first.GetProperty("next").GetString(), StringComparison.Ordinal);

        var all = new List<string>(firstIds);
        while (cursor is not null)
        {
            using var next = await Server.Client.GetAsync($"/api/runs?workflow=quick&status=succeeded&createdAfter={Uri.EscapeDataString(after)}&limit=2&cursor={cursor}");
            var page = await InProcessServer.ReadJsonAsync(next);
            all.AddRange(page.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }

        Assert.Equal(all.Distinct().Count(), all.Count);
        Assert.True(ids.All(all.Contains));
        var ours = all.Where(ids.Contains).ToList();
        Assert.Equal(Enumerable.Reverse(ids).ToList(), ours);

        using var none = await Server.Client.GetAsync($"/api/runs?workflow=quick&createdBefore={Uri.EscapeDataString(before.AddDays(-1).ToString("O"))}");
        Assert.Equal(0, (await InProcessServer.ReadJsonAsync(none)).GetProperty("runs").GetArrayLength());
        using var failed = await Server.Client.GetAsync("/api/runs?workflow=quick&status=failed");
        Assert.Equal(0, (await InProcessServer.ReadJsonAsync(failed)).GetProperty("runs").GetArrayLength());
    }

    [Fact]
    public async Task ListRuns_TimeFilterWithAFractionOfAMillisecond_ComparedAsTheRunsCreatedAtReads()
    {
        // Before (a review): on SQLite the bound was rounded down to its millisecond, so a run was missing from
        // createdBefore = its createdAt + 0.5 ms and listed for createdAfter = the same time.
        var (_, run) = await Server.StartRunAsync("quick", """{"n":1}""");
        var id = run.GetProperty("id").GetString()!;
        var createdAt = (await Server.GetRunAsync(id)).GetProperty("createdAt").GetDateTimeOffset();
        var halfMsLater = Uri.EscapeDataString(createdAt.UtcDateTime.AddTicks(5_000).ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", System.Globalization.CultureInfo.InvariantCulture));

        using var before = await Server.Client.GetAsync($"/api/runs?workflow=quick&createdBefore={halfMsLater}&limit=500");
        using var after = await Server.Client.GetAsync($"/api/runs?workflow=quick&createdAfter={halfMsLater}&limit=500");
        var beforeIds = (await InProcessServer.ReadJsonAsync(before)).GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();
        var afterIds = (await InProcessServer.ReadJsonAsync(after)).GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();

        Assert.Contains(id, beforeIds);
        Assert.DoesNotContain(id, afterIds);
    }

    [Fact]
    public async Task ListRuns_TimeWithAnUnescapedPlusInItsOffset_ReadAsThatOffset()
    {
        // A '+' typed into a query string as is (curl ".../api/runs?createdAfter=2026-01-15T03:00:00+01:00") reaches the
        // server as a space. Before: 400 "... is not an ISO 8601 time", and only %2B worked.
        var (_, run) = await Server.StartRunAsync("quick", """{"n":1}""");
        var id = run.GetProperty("id").GetString()!;
        var createdAt = (await Server.GetRunAsync(id)).GetProperty("createdAt").GetDateTimeOffset();
        var oneSecondLater = createdAt.ToOffset(TimeSpan.FromHours(1)).AddSeconds(1)
            .ToString("yyyy-MM-ddTHH:mm:ss.fffffff'+01:00'", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains('+', oneSecondLater);

        using var before = await Server.Client.GetAsync($"/api/runs?workflow=quick&createdBefore={oneSecondLater}&limit=500");
        using var after = await Server.Client.GetAsync($"/api/runs?workflow=quick&createdAfter={oneSecondLater}&limit=500");

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        var beforeIds = (await InProcessServer.ReadJsonAsync(before)).GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();
        var afterIds = (await InProcessServer.ReadJsonAsync(after)).GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();
        Assert.Contains(id, beforeIds);
        Assert.DoesNotContain(id, afterIds);
    }

    [Theory]
    [InlineData("2026-01-15T02:00:00+14:59", "has the offset +14:59; an offset is at most ±14:00")]
    [InlineData("2026-01-15T02:00 01:00x", "is not an ISO 8601 time")]
    [InlineData("2026-01-15 01:00", "is not an ISO 8601 time")]
    [InlineData("2026-01-15T02:00:00%2B14:59", "has the offset +14:59; an offset is at most ±14:00")]
    [InlineData("2026-01-15T02:00:00-15:00", "has the offset -15:00; an offset is at most ±14:00")]
    [InlineData("0001-01-01T00:00:00%2B01:00", "is out of range (years 0001 to 9999 in UTC)")]
    [InlineData("2026-20-10", "is not a date and time the calendar has")]
    [InlineData("2026-02-30", "is not a date and time the calendar has")]
    [InlineData("2026-01-15T25:00Z", "is not a date and time the calendar has")]
    [InlineData("2026-02-30T02:00:00%2B15:00", "is not a date and time the calendar has")]
    public async Task ListRuns_TimeThatCannotBe_400SaysWhich(string value, string expected)
    {
        // Before: an offset beyond ±14:00 was reported as a year out of range; a plain date's month and day were read as an
        // offset ("2026-20-10 has the offset -20-10"), and a day the month does not have as out of range.
        using var response = await Server.Client.GetAsync($"/api/runs?createdAfter={value}");
        var problem = await InProcessServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetRun_WellFormedUnknownId_Returns404Problem()
    {
        using var response = await Server.Client.GetAsync($"/api/runs/{Guid.NewGuid():N}");
        var body = await InProcessServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("urn:baton:problem:run-not-found", body.GetProperty("type").GetString());
    }

    [Fact]
    public async Task CancelRun_RunningDemo_EndsCancelledAndRetryResumesToSuccess()
    {
        var (_, started) = await Server.StartRunAsync("demo", """{"items":30,"delayMs":200,"parallelism":1}""");
        var id = started.GetProperty("id").GetString()!;
        await Poll.UntilAsync(
            () => Server.GetRunAsync(id),
            run => run.GetProperty("progress").TryGetProperty("items.done", out var d) && d.GetInt64() >= 1,
            "the demo to finish an item");

        using var cancel = await Server.Client.PostAsync($"/api/runs/{id}/cancel", null);
        var cancelBody = await InProcessServer.ReadJsonAsync(cancel);
        Assert.True(cancel.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK, $"cancel answered {cancel.StatusCode}");
        Assert.Contains(cancelBody.GetProperty("outcome").GetString(), new[] { "cancel_requested", "cancelled" });

        var cancelled = await Server.WaitForStatusAsync(id, "cancelled");
        Assert.True(cancelled.GetProperty("progress").GetProperty("items.done").GetInt64() < 30);

        using var cancelAgain = await Server.Client.PostAsync($"/api/runs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, cancelAgain.StatusCode);
        Assert.Equal("urn:baton:problem:run-finished", (await InProcessServer.ReadJsonAsync(cancelAgain)).GetProperty("type").GetString());

        using var retry = await Server.Client.PostAsync($"/api/runs/{id}/retry", null);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        Assert.Equal("retried", (await InProcessServer.ReadJsonAsync(retry)).GetProperty("outcome").GetString());

        var succeeded = await Server.WaitForStatusAsync(id, "succeeded");
        Assert.Equal(30, succeeded.GetProperty("progress").GetProperty("items.done").GetInt64());
        Assert.Equal(9455, succeeded.GetProperty("output").GetProperty("sum").GetInt64());
    }

    [Fact]
    public async Task RetryRun_SucceededRun_Returns409()
    {
        var (_, started) = await Server.StartRunAsync("quick", """{"n":2}""");
        var id = started.GetProperty("id").GetString()!;
        await Server.WaitForStatusAsync(id, "succeeded");

        using var retry = await Server.Client.PostAsync($"/api/runs/{id}/retry", null);

        Assert.Equal(HttpStatusCode.Conflict, retry.StatusCode);
        Assert.Equal("urn:baton:problem:run-not-retryable", (await InProcessServer.ReadJsonAsync(retry)).GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("cancel")]
    [InlineData("retry")]
    public async Task ControlRun_UnknownRun_Returns404(string action)
    {
        using var response = await Server.Client.PostAsync($"/api/runs/{Guid.NewGuid():N}/{action}", null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("urn:baton:problem:run-not-found", (await InProcessServer.ReadJsonAsync(response)).GetProperty("type").GetString());
    }

    [Fact]
    public async Task GetRun_FailedRun_ShowsFailureInSeed004Shape()
    {
        var (_, started) = await Server.StartRunAsync("demo", """{"items":2,"delayMs":0,"fail":true}""");
        var id = started.GetProperty("id").GetString()!;

        var failed = await Server.WaitForStatusAsync(id, "failed");

        var failure = failed.GetProperty("failure");
        Assert.Contains("asked to fail", failure.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("summarize", failure.GetProperty("details").GetProperty("saga").GetProperty("step").GetString());
        Assert.True(failure.GetProperty("details").GetProperty("saga").TryGetProperty("state", out _));
        var step = failed.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("key").GetString() == "summarize");
        Assert.Equal("failed", step.GetProperty("status").GetString());
        Assert.Equal("failed", step.GetProperty("attempts")[0].GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task GetRun_DeadLetteredItemAndReportedError_ShowsBothInErrors()
    {
        await using var server = await InProcessServer.StartAsync(configure: (_, baton) => TestWorkflows.AddPartial(baton));
        var (status, started) = await server.StartRunAsync("partial", """{"n":3}""");
        Assert.Equal(HttpStatusCode.Accepted, status);
        var id = started.GetProperty("id").GetString()!;

        var run = await server.WaitForStatusAsync(id, "succeeded");

        Assert.Equal(2, run.GetProperty("output").GetInt32());
        Assert.Equal(1, run.GetProperty("progress").GetProperty("lines.deadLettered").GetInt64());
        var errors = run.GetProperty("errors").EnumerateArray().ToList();
        Assert.Equal(2, errors.Count);
        Assert.Equal("lines/2", errors[0].GetProperty("step").GetString());
        Assert.StartsWith("lines/2 dead-lettered: ", errors[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("line 2 is not valid JSON", errors[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("summarize", errors[1].GetProperty("step").GetString());
        Assert.Equal("summary left out 1 dead-lettered line", errors[1].GetProperty("message").GetString());
        Assert.All(errors, e => Assert.True(e.GetProperty("at").GetDateTimeOffset() >= started.GetProperty("createdAt").GetDateTimeOffset()));
    }

    [Fact]
    public async Task ListWorkflows_Registered_ListsDemoAndQuick()
    {
        using var response = await Server.Client.GetAsync("/api/workflows");
        var body = await InProcessServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var names = body.EnumerateArray().Select(w => w.GetProperty("name").GetString()).ToList();
        Assert.Equal(["demo", "quick"], names);
        var demo = body.EnumerateArray().First();
        Assert.Equal("DemoInput", demo.GetProperty("inputType").GetString());
        Assert.Equal("/api/workflows/demo/runs", demo.GetProperty("startRuns").GetString());
    }

    [Fact]
    public async Task ListWorkflows_ProductionWithoutDemoSetting_DemoNotRegistered()
    {
        await using var production = await InProcessServer.StartAsync(new Dictionary<string, string> { ["Baton:Demo:Enabled"] = "" });

        using var response = await production.Client.GetAsync("/api/workflows");
        var names = (await InProcessServer.ReadJsonAsync(response)).EnumerateArray().Select(w => w.GetProperty("name").GetString()).ToList();
        var (status, _) = await production.StartRunAsync("demo", "{}");

        Assert.DoesNotContain("demo", names);
        Assert.Equal(HttpStatusCode.NotFound, status);
    }

    [Fact]
    public async Task OpenApi_Document_DescribesTheApi()
    {
        using var response = await Server.Client.GetAsync("/openapi/v1.json");
        var body = await InProcessServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var paths = body.GetProperty("paths");
        foreach (var path in new[] { "/api/workflows/{name}/runs", "/api/runs", "/api/runs/{id}", "/api/runs/{id}/summary", "/api/runs/{id}/cancel", "/api/runs/{id}/retry", "/api/workflows", "/api/schedules", "/api/schedules/{name}", "/health", "/healthz", "/metrics" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"the OpenAPI document lacks {path}");
        }
    }
}
