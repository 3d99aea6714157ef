using System.Net;
using System.Text.Json;
using Baton.Server.Tests.Infrastructure;
using Baton.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Server.Tests.Api;

public sealed class ScheduleEndpointsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private InProcessServer Server => fixture.Server;

    [Fact]
    public async Task PutGetListDelete_Schedule_RoundTripsWithNextFireTime()
    {
        var name = "nightly-" + Guid.NewGuid().ToString("N")[..8];
        using var created = await Server.Client.PutAsync(
            $"/api/schedules/{name}",
            InProcessServer.Json("""{"workflow":"demo","cron":"0 2 * * *","timeZone":"Europe/Brussels","input":{"items":3},"misfire":"run_once"}"""));
        var createdBody = await InProcessServer.ReadJsonAsync(created);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/api/schedules/{name}", created.Headers.Location?.OriginalString);
        Assert.Equal("Europe/Brussels", createdBody.GetProperty("timeZone").GetString());
        Assert.Equal("run_once", createdBody.GetProperty("misfire").GetString());
        Assert.Equal(3, createdBody.GetProperty("input").GetProperty("items").GetInt32());
        var next = createdBody.GetProperty("nextFireAt").GetDateTimeOffset();
        Assert.True(next > DateTimeOffset.UtcNow && next < DateTimeOffset.UtcNow.AddDays(1).AddHours(2));
        var brussels = TimeZoneInfo.ConvertTime(next, TimeZoneInfo.FindSystemTimeZoneById("Europe/Brussels"));
        Assert.Equal((2, 0), (brussels.Hour, brussels.Minute));

        using var replaced = await Server.Client.PutAsync($"/api/schedules/{name}", InProcessServer.Json("""{"workflow":"demo","cron":"0 3 * * *","enabled":false}"""));
        var replacedBody = await InProcessServer.ReadJsonAsync(replaced);
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        Assert.False(replacedBody.GetProperty("enabled").GetBoolean());
        Assert.Equal("UTC", replacedBody.GetProperty("timeZone").GetString());
        Assert.Equal(JsonValueKind.Null, replacedBody.GetProperty("nextFireAt").ValueKind);

        using var get = await Server.Client.GetAsync($"/api/schedules/{name}");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal("0 3 * * *", (await InProcessServer.ReadJsonAsync(get)).GetProperty("cron").GetString());

        using var list = await Server.Client.GetAsync("/api/schedules");
        var listed = await InProcessServer.ReadJsonAsync(list);
        Assert.Contains(listed.EnumerateArray(), s => s.GetProperty("name").GetString() == name && s.TryGetProperty("nextFireAt", out _));

        using var deleted = await Server.Client.DeleteAsync($"/api/schedules/{name}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var gone = await Server.Client.GetAsync($"/api/schedules/{name}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal("urn:baton:problem:schedule-not-found", (await InProcessServer.ReadJsonAsync(gone)).GetProperty("type").GetString());
        using var deletedAgain = await Server.Client.DeleteAsync($"/api/schedules/{name}");
        Assert.Equal(HttpStatusCode.NotFound, deletedAgain.StatusCode);
    }

    [Fact]
    public async Task PutSchedule_InputWithUnknownField_Returns400NamingItAndStoresNothing()
    {
        var name = "typo-" + Guid.NewGuid().ToString("N")[..8];
        using var put = await Server.Client.PutAsync(
            $"/api/schedules/{name}", InProcessServer.Json("""{"workflow":"demo","cron":"0 2 * * *","input":{"itemz":5}}"""));
        var body = await InProcessServer.ReadJsonAsync(put);

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Equal("urn:baton:problem:invalid-schedule", body.GetProperty("type").GetString());
        Assert.Contains("'itemz'", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        using var get = await Server.Client.GetAsync($"/api/schedules/{name}");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task PutSchedule_FieldsTheApiTakes_AreTheFieldsTheReadmeNames()
    {
        // The fields the API takes, as its refusal of an unknown one lists them, against the README's PUT row. Before
        // (review 81): the row named {workflow, cron, timeZone?, input?, enabled?, misfire?}, without name, which the API
        // takes when it equals the URL's.
        var name = "fields-" + Guid.NewGuid().ToString("N")[..8];
        using var unknown = await Server.Client.PutAsync($"/api/schedules/{name}", InProcessServer.Json("""{"workflow":"demo","cron":"0 2 * * *","bogus":1}"""));
        var detail = (await InProcessServer.ReadJsonAsync(unknown)).GetProperty("detail").GetString()!;
        var taken = detail[(detail.IndexOf("allowed fields: ", StringComparison.Ordinal) + "allowed fields: ".Length)..].Split(", ");
        using var named = await Server.Client.PutAsync($"/api/schedules/{name}", InProcessServer.Json($$"""{"name":"{{name}}","workflow":"demo","cron":"0 2 * * *"}"""));

        var readme = await File.ReadAllTextAsync(Path.Combine(TestPaths.RepoRoot, "README.md"));
        var row = readme.Split('\n').Single(l => l.StartsWith("| `PUT /api/schedules/{name}` |", StringComparison.Ordinal));
        var open = row.IndexOf("body `{", StringComparison.Ordinal) + "body `{".Length;
        var body = row[open..row.IndexOf("}`", open, StringComparison.Ordinal)];
        var documented = body.Split(", ").Select(f => f.TrimEnd('?'));

        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.Created, named.StatusCode);
        Assert.Equal(taken.Order(StringComparer.Ordinal), documented.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("0 0 L * *")]
    [InlineData("0 9 15W * *")]
    [InlineData("0 9 * * FRI#3")]
    [InlineData("@weekly")]
    public async Task PutSchedule_LastWeekdayNthOrMacro_Returns201WithNextFireTime(string cron)
    {
        var name = "cronos-" + Guid.NewGuid().ToString("N")[..8];
        using var put = await Server.Client.PutAsync(
            $"/api/schedules/{name}", InProcessServer.Json($$"""{"workflow":"demo","cron":"{{cron}}","timeZone":"America/New_York"}"""));
        var body = await InProcessServer.ReadJsonAsync(put);

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(cron, body.GetProperty("cron").GetString());
        Assert.True(body.GetProperty("nextFireAt").GetDateTimeOffset() > DateTimeOffset.UtcNow);
        using var deleted = await Server.Client.DeleteAsync($"/api/schedules/{name}");
    }

    [Theory]
    [InlineData("0 9 * * FRI#6", "Days of week")]
    [InlineData("0 0 30 2 *", "never fires")]
    [InlineData("0 0 32W * *", "Days of month")]
    public async Task PutSchedule_BadCron_Returns400ProblemWithReasonAndStoresNothing(string cron, string reason)
    {
        var name = "badcron-" + Guid.NewGuid().ToString("N")[..8];
        using var put = await Server.Client.PutAsync($"/api/schedules/{name}", InProcessServer.Json($$"""{"workflow":"demo","cron":"{{cron}}"}"""));
        var body = await InProcessServer.ReadJsonAsync(put);

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Equal("application/problem+json", put.Content.Headers.ContentType?.MediaType);
        Assert.Equal("urn:baton:problem:invalid-schedule", body.GetProperty("type").GetString());
        Assert.Contains($"cron expression '{cron}'", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains(reason, body.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
        using var get = await Server.Client.GetAsync($"/api/schedules/{name}");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task PutSchedule_EverySecond_FiresRuns()
    {
        var name = "tick-" + Guid.NewGuid().ToString("N")[..8];
        using var put = await Server.Client.PutAsync($"/api/schedules/{name}", InProcessServer.Json("""{"workflow":"quick","cron":"* * * * * *","input":{"n":5}}"""));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);

        var fired = await Poll.UntilAsync(
            async () => await InProcessServer.ReadJsonAsync(await Server.Client.GetAsync($"/api/schedules/{name}")),
            s => s.GetProperty("lastRunId").ValueKind == JsonValueKind.String,
            "the schedule to fire");
        using var deleted = await Server.Client.DeleteAsync($"/api/schedules/{name}");

        var run = await Server.WaitForStatusAsync(fired.GetProperty("lastRunId").GetString()!, "succeeded");
        Assert.Equal(name, run.GetProperty("scheduleName").GetString());
        Assert.Equal(10, run.GetProperty("output").GetInt32());
    }
}

public sealed class ConcurrentSchedulePutTests
{
    [Fact]
    public async Task PutSchedule_ConcurrentCreatesOfOneName_ExactlyOneAnswers201()
    {
        // The schedule store (the real SQLite one) holds each upsert until all eight requests have reached it, so every
        // request has done whatever it does before its write. Before, each read "does it exist?" first: all eight read
        // "no" and answered 201 Created.
        const int Requests = 8;
        var gate = new UpsertGate(Requests);
        await using var server = await InProcessServer.StartAsync(configure: (builder, _) =>
            builder.Services.AddSingleton<IScheduleStore>(sp => new GatedUpsertStore(sp.GetRequiredService<IBatonStore>().Schedules, gate)));

        var responses = await Task.WhenAll(Enumerable.Range(0, Requests).Select(i => server.Client.PutAsync(
            "/api/schedules/nightly",
            InProcessServer.Json($$$"""{"workflow":"demo","cron":"0 2 * * *","input":{"items":{{{i + 1}}}}}"""))));
        try
        {
            Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
            Assert.Equal(Requests - 1, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
            Assert.Equal("/api/schedules/nightly", responses.Single(r => r.StatusCode == HttpStatusCode.Created).Headers.Location?.OriginalString);
            using var list = await server.Client.GetAsync("/api/schedules");
            Assert.Single((await InProcessServer.ReadJsonAsync(list)).EnumerateArray(), s => s.GetProperty("name").GetString() == "nightly");
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    /// <summary>Lets upserts through once <c>count</c> of them are waiting (at most 30 s, so a request that never comes fails the test, not hangs it).</summary>
    private sealed class UpsertGate(int count)
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _waiting;

        public Task WaitAsync(CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _waiting) >= count)
            {
                _open.TrySetResult();
            }

            return _open.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        }
    }

    /// <summary>The real schedule store, with each upsert held at the gate.</summary>
    private sealed class GatedUpsertStore(IScheduleStore inner, UpsertGate gate) : IScheduleStore
    {
        public async Task<UpsertScheduleResult> UpsertScheduleAsync(UpsertScheduleRequest request, CancellationToken cancellationToken = default)
        {
            await gate.WaitAsync(cancellationToken);
            return await inner.UpsertScheduleAsync(request, cancellationToken);
        }

        public Task<ScheduleRecord?> GetScheduleAsync(string name, CancellationToken cancellationToken = default) => inner.GetScheduleAsync(name, cancellationToken);

        public Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(CancellationToken cancellationToken = default) => inner.ListSchedulesAsync(cancellationToken);

        public Task<bool> DeleteScheduleAsync(string name, CancellationToken cancellationToken = default) => inner.DeleteScheduleAsync(name, cancellationToken);

        public Task<IReadOnlyList<ScheduleRecord>> GetDueSchedulesAsync(DueSchedulesRequest request, CancellationToken cancellationToken = default) =>
            inner.GetDueSchedulesAsync(request, cancellationToken);

        public Task<FireScheduleResult> FireScheduleAsync(FireScheduleRequest request, CancellationToken cancellationToken = default) => inner.FireScheduleAsync(request, cancellationToken);

        public Task<int> PruneFiresAsync(PruneFiresRequest request, CancellationToken cancellationToken = default) => inner.PruneFiresAsync(request, cancellationToken);

        public Task<ScheduleRecord?> SetScheduleEnabledAsync(SetScheduleEnabledRequest request, CancellationToken cancellationToken = default) =>
            inner.SetScheduleEnabledAsync(request, cancellationToken);
    }
}

public sealed class ConfiguredScheduleTests
{
    [Fact]
    public async Task Start_ScheduleInConfiguration_IsAppliedAndListed()
    {
        await using var server = await InProcessServer.StartAsync(new Dictionary<string, string>
        {
            ["Baton:Schedules:nightly-demo:Workflow"] = "demo",
            ["Baton:Schedules:nightly-demo:Cron"] = "30 2 * * *",
            ["Baton:Schedules:nightly-demo:TimeZone"] = "UTC",
            ["Baton:Schedules:nightly-demo:Input"] = """{"items":4}""",
        });

        using var response = await server.Client.GetAsync("/api/schedules/nightly-demo");
        var body = await InProcessServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("demo", body.GetProperty("workflow").GetString());
        Assert.Equal(4, body.GetProperty("input").GetProperty("items").GetInt32());
        var next = body.GetProperty("nextFireAt").GetDateTimeOffset();
        Assert.Equal((2, 30), (next.UtcDateTime.Hour, next.UtcDateTime.Minute));
    }

    [Fact]
    public async Task Start_ConfiguredScheduleForUnknownWorkflow_FailsNamingIt()
    {
        // Checked with the other settings at start (options validation), before the store is opened.
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => InProcessServer.StartAsync(new Dictionary<string, string>
        {
            ["Baton:Schedules:broken:Workflow"] = "does-not-exist",
            ["Baton:Schedules:broken:Cron"] = "* * * * *",
        }));

        Assert.Contains("Baton:Schedules:broken: no workflow named 'does-not-exist'", error.Message, StringComparison.Ordinal);
    }
}
