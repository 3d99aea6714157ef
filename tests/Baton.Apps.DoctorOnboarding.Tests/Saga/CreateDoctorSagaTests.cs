using System.Text.Json;
using Baton.Apps.DoctorOnboarding.Saga;
using Baton.Apps.DoctorOnboarding.Tests.Infrastructure;
using Baton.Runs;
using Baton.Simulators.DoctorServices;

namespace Baton.Apps.DoctorOnboarding.Tests.Saga;

public sealed class CreateDoctorSagaTests
{
    [Fact]
    public async Task CreateSaga_AllStepsSucceed_CreatesAccountProfileAndPermissions()
    {
        await using var host = await SagaHost.StartAsync();

        var id = await host.StartCreateAsync(SagaHost.Command());
        var run = await host.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        var result = JsonSerializer.Deserialize<SagaResult>(run.Output!, JsonSerializerOptions.Web)!;
        var account = Assert.Single(host.Simulator.State.Accounts);
        var profile = Assert.Single(host.Simulator.State.Profiles);
        Assert.Equal(account["id"]!.GetValue<string>(), result.AccountId);
        Assert.Equal(profile["id"]!.GetValue<string>(), result.ProfileId);
        Assert.Equal(result.AccountId, profile["staffAccountId"]!.GetValue<string>());
        Assert.Equal("MD", profile["degree"]!.GetValue<string>());
        Assert.Equal("doctor", account["permissions"]![0]!.GetValue<string>());
        Assert.Equal(["createAccount", "createProfile", "assignPermissions"], result.ExecutedSteps);
        Assert.Equal(id, result.SagaId);
        Assert.DoesNotContain("s3cret-pass", run.Input!, StringComparison.Ordinal);
        Assert.True(host.Simulator.State.HasPassword(result.AccountId, "s3cret-pass"));
    }

    [Theory]
    [InlineData("doctor-accounts.create", "createAccount", new string[0], new string[0])]
    [InlineData("doctor-profile.createEmpty", "createProfile", new[] { "createAccount" }, new[] { "doctor-accounts.remove", "doctor-profile.getByAccountId" })]
    [InlineData("doctor-accounts.assignPermissions", "assignPermissions", new[] { "createAccount", "createProfile" }, new[] { "doctor-profile.remove", "doctor-accounts.remove" })]
    public async Task CreateSaga_StepFails_CompensatesNewestFirstAndRepliesSeedShape(string pattern, string step, string[] executed, string[] compensationCalls)
    {
        await using var host = await SagaHost.StartAsync();
        host.Simulator.Faults.Set(pattern, new PatternFault { FailAlways = true, Message = "validation failed: account.email already exists" });

        var id = await host.StartCreateAsync(SagaHost.Command());
        var run = await host.WaitForEndAsync(id);

        // A refused createAccount made nothing: the guard before it (whose undo looks for an account whose reply was lost)
        // has nothing to do, so the run is compensated in the engine's terms and "failed" in the reply's.
        Assert.Equal(RunStatus.Compensated, run.Status);
        Assert.Empty(host.Simulator.State.Accounts);
        Assert.Empty(host.Simulator.State.Profiles);
        var calls = host.Simulator.State.Calls;
        Assert.Equal(compensationCalls, calls.SkipWhile(c => c != pattern).Skip(1));
        var reply = SagaReplies.Error(run);
        var expectedState = executed.Length == 0 ? "failed" : "compensated";
        var expected = $$$"""
            {"message":"validation failed: account.email already exists","details":{"saga":{"step":"{{{step}}}","state":"{{{expectedState}}}"}},"sagaId":"{{{id}}}","executedSteps":{{{JsonSerializer.Serialize(executed)}}},"compensatedSteps":{{{JsonSerializer.Serialize(executed.Reverse())}}},"durationMs":{{{reply.GetProperty("durationMs").GetInt64()}}}}
            """;
        Assert.Equal(expected.Trim(), reply.GetRawText());
    }

    [Fact]
    public async Task CreateSaga_CompensationFails_RepliesCompensationFailedNamingIt()
    {
        await using var host = await SagaHost.StartAsync();
        host.Simulator.Faults.Set("doctor-accounts.assignPermissions", new PatternFault { FailAlways = true, Message = "permissions service down" });
        host.Simulator.Faults.Set("doctor-profile.remove", new PatternFault { FailAlways = true, Message = "directory down" });

        var id = await host.StartCreateAsync(SagaHost.Command());
        // The compensation's retries wait in memory on the fake clock: move it past each backoff.
        var run = await AdvanceUntilEndAsync(host, id, TimeSpan.FromSeconds(1));

        Assert.Equal(RunStatus.CompensationFailed, run.Status);
        var reply = SagaReplies.Error(run);
        var saga = reply.GetProperty("details").GetProperty("saga");
        Assert.Equal("assignPermissions", saga.GetProperty("step").GetString());
        Assert.Equal("compensation_failed", saga.GetProperty("state").GetString());
        Assert.Equal("createProfile", saga.GetProperty("compensationStep").GetString());
        Assert.Equal("permissions service down", reply.GetProperty("message").GetString());
        Assert.Equal(["createAccount", "createProfile"], reply.GetProperty("executedSteps").EnumerateArray().Select(s => s.GetString()));
        Assert.Empty(reply.GetProperty("compensatedSteps").EnumerateArray());
        Assert.Equal(SagaCalls.CompensationRetry.MaxAttempts, host.Simulator.State.Calls.Count(c => c == "doctor-profile.remove"));
    }

    [Fact]
    public async Task CreateSaga_CallTimesOut_CancelsItAndCompensates()
    {
        await using var host = await SagaHost.StartAsync();
        host.Simulator.Faults.Set("doctor-profile.createEmpty", new PatternFault { DelayMs = 60_000 });

        var id = await host.StartCreateAsync(SagaHost.Command());
        await host.WaitForCallAsync("doctor-profile.createEmpty");
        // Only the first call is slow: the undo's create sent again with the same key is answered at once.
        host.Simulator.Faults.Clear("doctor-profile.createEmpty");
        host.Time.Advance(TimeSpan.FromSeconds(12));
        var run = await host.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Compensated, run.Status);
        Assert.Equal("createProfile", run.Failure!.Step);
        Assert.Contains("timed out after 12 s", run.Failure.Message, StringComparison.Ordinal);
        Assert.Empty(host.Simulator.State.Accounts);
        Assert.Empty(host.Simulator.State.Profiles);
    }

    [Fact]
    public async Task CreateSaga_ProfileMadeButReplyLost_CompensationFindsAndRemovesTheProfile()
    {
        await using var host = await SagaHost.StartAsync();
        // The directory carries the call out at once and answers only after a minute: the step times out at 12 s
        // without the profile's id, as after a lost reply.
        host.Simulator.Faults.Set("doctor-profile.createEmpty", new PatternFault { ReplyDelayMs = 60_000 });

        var id = await host.StartCreateAsync(SagaHost.Command());
        await host.WaitForCallAsync("doctor-profile.createEmpty");
        await Poll.UntilAsync(() => Task.FromResult(host.Simulator.State.Profiles.Count), n => n == 1, "the directory to make the profile");
        host.Simulator.Faults.Clear("doctor-profile.createEmpty");
        host.Time.Advance(TimeSpan.FromSeconds(12));
        var run = await host.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Compensated, run.Status);
        Assert.Equal("createProfile", run.Failure!.Step);
        Assert.Contains("timed out after 12 s", run.Failure.Message, StringComparison.Ordinal);
        Assert.Empty(host.Simulator.State.Profiles);
        Assert.Empty(host.Simulator.State.Accounts);
        // The create sent again with the same key answers with the profile the first made, which is removed.
        Assert.Equal(
            ["doctor-accounts.remove", "doctor-profile.createEmpty", "doctor-profile.remove", "doctor-profile.getByAccountId"],
            host.Simulator.State.Calls.SkipWhile(c => c != "doctor-profile.createEmpty").Skip(1));
        var reply = SagaReplies.Error(run);
        Assert.Equal(["createAccount"], reply.GetProperty("compensatedSteps").EnumerateArray().Select(s => s.GetString()));
    }

    [Fact]
    public async Task CreateSaga_AccountMadeButReplyLost_TheGuardFindsItByItsKeyAndRemovesIt()
    {
        // Before: the step failed without the account's id, no compensation of its own ran, and the account stayed: the
        // same email could never be onboarded again ("account.email already exists").
        await using var host = await SagaHost.StartAsync();
        var (id, never) = await StartWithTheAccountsReplyHeldAsync(host);
        host.Time.Advance(TimeSpan.FromSeconds(12));
        var run = await host.WaitForEndAsync(id);
        never.SetResult();

        Assert.Equal(RunStatus.Compensated, run.Status);
        Assert.Equal("createAccount", run.Failure!.Step);
        Assert.Contains("timed out after 12 s", run.Failure.Message, StringComparison.Ordinal);
        Assert.Empty(host.Simulator.State.Accounts);
        Assert.Equal(["doctor-accounts.create", "doctor-accounts.create", "doctor-accounts.remove"], host.Simulator.State.Calls);
        var reply = SagaReplies.Error(run);
        Assert.Equal("compensated", reply.GetProperty("details").GetProperty("saga").GetProperty("state").GetString());
        Assert.Empty(reply.GetProperty("executedSteps").EnumerateArray());
        Assert.Equal(["createAccount"], reply.GetProperty("compensatedSteps").EnumerateArray().Select(s => s.GetString()));
    }

    [Fact]
    public async Task CreateSaga_CancelledWhileCreateAccountWaitsForItsReply_TheAccountIsRemoved()
    {
        await using var host = await SagaHost.StartAsync();
        var (id, never) = await StartWithTheAccountsReplyHeldAsync(host);
        await host.Client.CancelRunAsync(id);
        var run = await host.WaitForEndAsync(id);
        never.SetResult();

        Assert.Empty(host.Simulator.State.Accounts);
        Assert.Contains("doctor-accounts.remove", host.Simulator.State.Calls);
        Assert.Equal(["createAccount"], SagaReplies.Error(run).GetProperty("compensatedSteps").EnumerateArray().Select(s => s.GetString()));
    }

    [Fact]
    public async Task CreateSaga_ProfileFailsWhileTheDirectoryDoesNotAnswerLookUps_TheAccountIsStillRemoved()
    {
        // Before: the account's undo asked the directory for an orphan profile first, and a look-up that timed out ended it
        // before the account was removed: compensation_failed with the account left, though the accounts service was up.
        await using var host = await SagaHost.StartAsync();
        host.Simulator.Faults.Set("doctor-profile.createEmpty", new PatternFault { FailAlways = true, Message = "directory refused" });
        var never = new TaskCompletionSource();
        host.Simulator.Faults.Set("doctor-profile.getByAccountId", new PatternFault { Hold = never.Task });

        var id = await host.StartCreateAsync(SagaHost.Command());
        var run = await AdvanceUntilEndAsync(host, id, TimeSpan.FromSeconds(5));
        never.SetResult();

        Assert.Equal(RunStatus.CompensationFailed, run.Status);
        Assert.Empty(host.Simulator.State.Accounts);
        var saga = SagaReplies.Error(run).GetProperty("details").GetProperty("saga");
        Assert.Equal("createAccount", saga.GetProperty("compensationStep").GetString());
    }

    [Fact]
    public async Task CreateSaga_WholeSagaTimesOut_CompensatesTheCompletedSteps()
    {
        await using var host = await SagaHost.StartAsync();
        foreach (var pattern in new[] { "doctor-accounts.create", "doctor-profile.createEmpty", "doctor-accounts.assignPermissions" })
        {
            host.Simulator.Faults.Set(pattern, new PatternFault { DelayMs = 11_000 });
        }

        var id = await host.StartCreateAsync(SagaHost.Command());
        await host.WaitForCallAsync("doctor-accounts.create");
        host.Time.Advance(TimeSpan.FromSeconds(11));
        await host.WaitForCallAsync("doctor-profile.createEmpty");
        host.Time.Advance(TimeSpan.FromSeconds(11));
        await host.WaitForCallAsync("doctor-accounts.assignPermissions");
        host.Time.Advance(TimeSpan.FromSeconds(8));
        var run = await host.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Compensated, run.Status);
        Assert.Matches(@"^run timed out: its deadline \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z passed, 30 s after the run was created$", run.Failure!.Message);
        var reply = SagaReplies.Error(run);
        Assert.Equal("assignPermissions", reply.GetProperty("details").GetProperty("saga").GetProperty("step").GetString());
        Assert.Equal(["createProfile", "createAccount"], reply.GetProperty("compensatedSteps").EnumerateArray().Select(s => s.GetString()));
        Assert.Empty(host.Simulator.State.Accounts);
        Assert.Empty(host.Simulator.State.Profiles);
    }

    /// <summary>
    /// Moves the fake clock by <paramref name="step"/> every 20 ms until the run ends. Bounded by wall-clock time (60 s),
    /// not by a number of moves: the engine's real work between moves is slower on a loaded machine, so a fixed count of
    /// moves (100, about 2 s) could run out before the run ended.
    /// </summary>
    /// <summary>
    /// Starts a creation saga whose <c>createAccount</c> is carried out but whose reply is held (complete the returned
    /// source to let it go); once the account exists, later creates answer at once.
    /// </summary>
    private static async Task<(string Id, TaskCompletionSource Never)> StartWithTheAccountsReplyHeldAsync(SagaHost host)
    {
        var never = new TaskCompletionSource();
        host.Simulator.Faults.Set("doctor-accounts.create", new PatternFault { ReplyHold = never.Task });
        var id = await host.StartCreateAsync(SagaHost.Command());
        await Poll.UntilAsync(() => Task.FromResult(host.Simulator.State.Accounts.Count), n => n == 1, "the accounts service to make the account");
        host.Simulator.Faults.Clear("doctor-accounts.create");
        return (id, never);
    }

    private static async Task<RunInfo> AdvanceUntilEndAsync(SagaHost host, string id, TimeSpan step)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(60))
        {
            var run = (await host.Client.GetRunAsync(id))!.Run;
            if (run.Status is RunStatus.Succeeded or RunStatus.Failed or RunStatus.Compensated or RunStatus.CompensationFailed)
            {
                return run;
            }

            host.Time.Advance(step);
            await Task.Delay(20);
        }

        throw new TimeoutException($"run {id} did not end within 60 s");
    }
}
