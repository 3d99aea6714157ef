using System.Text.Json;
using System.Text.Json.Nodes;
using Baton.Apps.DoctorOnboarding.Contracts;
using Baton.Apps.DoctorOnboarding.Saga;
using Baton.Apps.DoctorOnboarding.Tests.Infrastructure;
using Baton.Runs;
using Baton.Simulators.DoctorServices;

namespace Baton.Apps.DoctorOnboarding.Tests.Saga;

public sealed class ChangeDoctorSagaTests
{
    [Fact]
    public async Task UpdateSaga_BothParts_ChangesAccountAndProfile()
    {
        await using var host = await SagaHost.StartAsync();
        var id = await CreateAsync(host);

        var run = await host.WaitForEndAsync(await host.StartAsync(UpdateDoctorSaga.Name, Update(id)));

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal("Ada King", Assert.Single(host.Simulator.State.Accounts)["fullName"]!.GetValue<string>());
        Assert.Equal("PhD", Assert.Single(host.Simulator.State.Profiles)["degree"]!.GetValue<string>());
    }

    [Fact]
    public async Task UpdateSaga_ProfileUpdateFails_PutsAccountFieldsBack()
    {
        await using var host = await SagaHost.StartAsync();
        var id = await CreateAsync(host);
        host.Simulator.Faults.Set("doctor-profile.update", new PatternFault { FailTimes = 1, Message = "degree not allowed" });

        var run = await host.WaitForEndAsync(await host.StartAsync(UpdateDoctorSaga.Name, Update(id)));

        Assert.Equal(RunStatus.Compensated, run.Status);
        Assert.Equal("Ada Lovelace", Assert.Single(host.Simulator.State.Accounts)["fullName"]!.GetValue<string>());
        Assert.Equal("MD", Assert.Single(host.Simulator.State.Profiles)["degree"]!.GetValue<string>());
        var reply = SagaReplies.Error(run);
        Assert.Equal("updateProfile", reply.GetProperty("details").GetProperty("saga").GetProperty("step").GetString());
        Assert.Equal(["updateAccount"], reply.GetProperty("compensatedSteps").EnumerateArray().Select(s => s.GetString()));
    }

    [Fact]
    public async Task UpdateSaga_NewPassword_StoredProtectedAndTheServiceGetsItInClear()
    {
        // Before: the update's input was stored as given, so GET /api/runs/{id} and the database showed the new password.
        await using var host = await SagaHost.StartAsync();
        var id = await CreateAsync(host);
        var command = new UpdateDoctorCommandDto { Id = id, Account = new JsonObject { ["password"] = "NewSecret-999", ["fullName"] = "Ada King" } };

        var runId = await host.StartAsync(UpdateDoctorSaga.Name, UpdateDoctorSaga.ToInput(command, host.Protection, DateTimeOffset.UnixEpoch));
        var run = await host.WaitForEndAsync(runId);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.DoesNotContain("NewSecret-999", run.Input!, StringComparison.Ordinal);
        Assert.True(host.Simulator.State.HasPassword(id, "NewSecret-999"));
        Assert.Equal("Ada King", Assert.Single(host.Simulator.State.Accounts)["fullName"]!.GetValue<string>());
    }

    [Fact]
    public async Task UpdateSaga_NewPasswordThenProfileUpdateFails_OtherAccountFieldsPutBackPasswordLeft()
    {
        // The old password is never readable: the undo restores the other fields and does not send a password at all.
        await using var host = await SagaHost.StartAsync();
        var id = await CreateAsync(host);
        host.Simulator.Faults.Set("doctor-profile.update", new PatternFault { FailTimes = 1, Message = "degree not allowed" });
        var command = new UpdateDoctorCommandDto
        {
            Id = id, Account = new JsonObject { ["password"] = "NewSecret-999", ["fullName"] = "Ada King" }, Profile = new JsonObject { ["degree"] = "PhD" },
        };

        var run = await host.WaitForEndAsync(await host.StartAsync(UpdateDoctorSaga.Name, UpdateDoctorSaga.ToInput(command, host.Protection, DateTimeOffset.UnixEpoch)));

        Assert.Equal(RunStatus.Compensated, run.Status);
        Assert.Equal("Ada Lovelace", Assert.Single(host.Simulator.State.Accounts)["fullName"]!.GetValue<string>());
        Assert.True(host.Simulator.State.HasPassword(id, "NewSecret-999"));
    }

    [Fact]
    public async Task DeleteSaga_Succeeds_RemovesProfileThenAccount()
    {
        await using var host = await SagaHost.StartAsync();
        var id = await CreateAsync(host);

        var run = await host.WaitForEndAsync(await host.StartAsync(DeleteDoctorSaga.Name, Delete(id)));

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Empty(host.Simulator.State.Accounts);
        Assert.Empty(host.Simulator.State.Profiles);
        var calls = host.Simulator.State.Calls;
        Assert.True(calls.ToList().IndexOf("doctor-profile.remove") < calls.ToList().IndexOf("doctor-accounts.remove"));
    }

    [Fact]
    public async Task DeleteSaga_AccountRemovalFails_RestoresTheProfile()
    {
        await using var host = await SagaHost.StartAsync();
        var id = await CreateAsync(host);
        host.Simulator.Faults.Set("doctor-accounts.remove", new PatternFault { FailAlways = true, Message = "account is locked" });

        var run = await host.WaitForEndAsync(await host.StartAsync(DeleteDoctorSaga.Name, Delete(id)));

        Assert.Equal(RunStatus.Compensated, run.Status);
        Assert.Single(host.Simulator.State.Accounts);
        var profile = Assert.Single(host.Simulator.State.Profiles);
        Assert.Equal(id, profile["staffAccountId"]!.GetValue<string>());
        Assert.Equal("MD", profile["degree"]!.GetValue<string>());
        Assert.Equal("account is locked", SagaReplies.Error(run).GetProperty("message").GetString());
    }

    [Fact]
    public async Task DeleteSaga_UnknownDoctor_FailsWithNothingToCompensate()
    {
        await using var host = await SagaHost.StartAsync();

        var run = await host.WaitForEndAsync(await host.StartAsync(DeleteDoctorSaga.Name, Delete("no-such-doctor")));

        Assert.Equal(RunStatus.Failed, run.Status);
        var reply = SagaReplies.Error(run);
        Assert.Equal("account no-such-doctor not found", reply.GetProperty("message").GetString());
        Assert.Equal("loadDoctor", reply.GetProperty("details").GetProperty("saga").GetProperty("step").GetString());
        Assert.Equal("failed", reply.GetProperty("details").GetProperty("saga").GetProperty("state").GetString());
    }

    [Fact]
    public async Task UpdateSaga_AccountUpdatedButReplyLost_ItsGuardPutsTheFieldsBack()
    {
        // Before: the step timed out with the change applied, no compensation ran, and the reply said nothing changed
        // while the new fullName was stored.
        await using var host = await SagaHost.StartAsync();
        var id = await CreateAsync(host);
        var never = new TaskCompletionSource();
        host.Simulator.Faults.Set("doctor-accounts.update", new PatternFault { ReplyHold = never.Task });

        var runId = await host.StartAsync(UpdateDoctorSaga.Name, Update(id));
        await Poll.UntilAsync(() => Task.FromResult(Assert.Single(host.Simulator.State.Accounts)["fullName"]!.GetValue<string>()), n => n == "Ada King", "the update to be applied");
        host.Simulator.Faults.Clear("doctor-accounts.update");
        host.Time.Advance(TimeSpan.FromSeconds(12));
        var run = await host.WaitForEndAsync(runId);
        never.SetResult();

        Assert.Equal(RunStatus.Compensated, run.Status);
        Assert.Equal("Ada Lovelace", Assert.Single(host.Simulator.State.Accounts)["fullName"]!.GetValue<string>());
        var reply = SagaReplies.Error(run);
        Assert.Equal("updateAccount", reply.GetProperty("details").GetProperty("saga").GetProperty("step").GetString());
        Assert.Equal(["loadDoctor"], reply.GetProperty("executedSteps").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(["updateAccount"], reply.GetProperty("compensatedSteps").EnumerateArray().Select(s => s.GetString()));
    }

    [Fact]
    public async Task DeleteSaga_ProfileRemovedButReplyLost_ItsGuardCreatesItAgain()
    {
        // Before: the profile was gone, the account left, and getComposite answered 404 for a doctor still half there.
        await using var host = await SagaHost.StartAsync();
        var id = await CreateAsync(host);

        var (runId, never) = await DeleteWithReplyLostAsync(host, id, "doctor-profile.remove", () => host.Simulator.State.Profiles.Count == 0);
        var run = await host.WaitForEndAsync(runId);
        never.SetResult();

        Assert.Equal(RunStatus.Compensated, run.Status);
        Assert.Single(host.Simulator.State.Accounts);
        var profile = Assert.Single(host.Simulator.State.Profiles);
        Assert.Equal((id, "MD"), (profile["staffAccountId"]!.GetValue<string>(), profile["degree"]!.GetValue<string>()));
        Assert.Equal(["removeProfile"], SagaReplies.Error(run).GetProperty("compensatedSteps").EnumerateArray().Select(s => s.GetString()));
    }

    [Fact]
    public async Task DeleteSaga_AccountRemovedButReplyLost_TriedAgainAndDoneNotAProfileOfNoAccountPutBack()
    {
        // Before: removeAccount timed out, the saga compensated and put the profile back for an account already gone,
        // answering "compensated" (the doctor still there) with neither an account nor a way to delete the orphan profile.
        await using var host = await SagaHost.StartAsync();
        var id = await CreateAsync(host);

        var (runId, never) = await DeleteWithReplyLostAsync(host, id, "doctor-accounts.remove", () => host.Simulator.State.Accounts.Count == 0);
        // The retry waits its backoff (1 s at most) on the fake clock: moved on until the second call is made.
        await Poll.UntilAsync(() =>
        {
            host.Time.Advance(TimeSpan.FromMilliseconds(250));
            return Task.FromResult(host.Simulator.State.Calls.Count(c => c == "doctor-accounts.remove"));
        }, n => n >= 2, "removeAccount to be tried again");
        var run = await host.WaitForEndAsync(runId);
        never.SetResult();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Empty(host.Simulator.State.Accounts);
        Assert.Empty(host.Simulator.State.Profiles);
    }

    [Fact]
    public async Task DeleteSaga_RemoveRefusedByTheDirectory_TheGuardChangesNothing()
    {
        await using var host = await SagaHost.StartAsync();
        var id = await CreateAsync(host);
        host.Simulator.Faults.Set("doctor-profile.remove", new PatternFault { FailAlways = true, Message = "profile is locked" });
        var before = host.Simulator.State.Calls.Count;

        var run = await host.WaitForEndAsync(await host.StartAsync(DeleteDoctorSaga.Name, Delete(id)));

        Assert.Single(host.Simulator.State.Profiles);
        Assert.DoesNotContain("doctor-profile.createEmpty", host.Simulator.State.Calls.Skip(before));
        var saga = SagaReplies.Error(run).GetProperty("details").GetProperty("saga");
        Assert.Equal(("removeProfile", "failed"), (saga.GetProperty("step").GetString(), saga.GetProperty("state").GetString()));
    }

    [Fact]
    public async Task UpdateSaga_ProfileChangeForADoctorWithoutProfile_FailsAtLoadDoctorChangingNothing()
    {
        // Before: loadDoctor found no profile, yet updateAccount ran (new fullName and new password sent), then updateProfile
        // failed with "has no profile to update"; the undo put the fullName back but not the password (no undo can), and the
        // reply listed updateProfile, never called, as compensated.
        await using var host = await SagaHost.StartAsync();
        var id = await CreateAsync(host);
        var profileId = Assert.Single(host.Simulator.State.Profiles)["id"]!.GetValue<string>();
        await host.Simulator.HandleAsync("doctor-profile.remove", JsonSerializer.SerializeToElement(new { id = profileId }));
        var before = host.Simulator.State.Calls.Count;
        var command = new UpdateDoctorCommandDto
        {
            Id = id, Account = new JsonObject { ["password"] = "NewSecret-999", ["fullName"] = "Ada King" }, Profile = new JsonObject { ["degree"] = "PhD" },
        };

        var run = await host.WaitForEndAsync(await host.StartAsync(UpdateDoctorSaga.Name, UpdateDoctorSaga.ToInput(command, host.Protection, DateTimeOffset.UnixEpoch)));

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.DoesNotContain("doctor-accounts.update", host.Simulator.State.Calls.Skip(before));
        Assert.True(host.Simulator.State.HasPassword(id, "s3cret-pass"));
        Assert.Equal("Ada Lovelace", Assert.Single(host.Simulator.State.Accounts)["fullName"]!.GetValue<string>());
        var reply = SagaReplies.Error(run);
        Assert.Equal($"doctor {id} has no profile to update", reply.GetProperty("message").GetString());
        var saga = reply.GetProperty("details").GetProperty("saga");
        Assert.Equal(("loadDoctor", "failed"), (saga.GetProperty("step").GetString(), saga.GetProperty("state").GetString()));
        Assert.Empty(reply.GetProperty("executedSteps").EnumerateArray());
        Assert.Empty(reply.GetProperty("compensatedSteps").EnumerateArray());
    }

    [Fact]
    public async Task UpdateSaga_ProfileOnlyAndRefused_ReplyListsNothingCompensated()
    {
        // Before: compensatedSteps ["updateAccount"] and state "compensated", though no account call was made or undone.
        await using var host = await SagaHost.StartAsync();
        var id = await CreateAsync(host);
        host.Simulator.Faults.Set("doctor-profile.update", new PatternFault { FailTimes = 1, Message = "degree not allowed" });
        var before = host.Simulator.State.Calls.Count;
        var command = new UpdateDoctorCommandDto { Id = id, Profile = new JsonObject { ["degree"] = "PhD" } };

        var run = await host.WaitForEndAsync(await host.StartAsync(UpdateDoctorSaga.Name, UpdateDoctorSaga.ToInput(command, host.Protection, DateTimeOffset.UnixEpoch)));

        Assert.DoesNotContain("doctor-accounts.update", host.Simulator.State.Calls.Skip(before));
        var reply = SagaReplies.Error(run);
        Assert.Empty(reply.GetProperty("compensatedSteps").EnumerateArray());
        var saga = reply.GetProperty("details").GetProperty("saga");
        Assert.Equal(("updateProfile", "failed"), (saga.GetProperty("step").GetString(), saga.GetProperty("state").GetString()));
        Assert.Equal(["loadDoctor", "updateAccount"], reply.GetProperty("executedSteps").EnumerateArray().Select(s => s.GetString()));
    }

    [Fact]
    public async Task DeleteSaga_DoctorWithoutProfileAndTheAccountRemoveRefused_ReplyListsNothingCompensated()
    {
        // Before: compensatedSteps ["removeProfile"], though there was no profile to remove or put back.
        await using var host = await SagaHost.StartAsync();
        var id = await CreateAsync(host);
        var profileId = Assert.Single(host.Simulator.State.Profiles)["id"]!.GetValue<string>();
        await host.Simulator.HandleAsync("doctor-profile.remove", JsonSerializer.SerializeToElement(new { id = profileId }));
        host.Simulator.Faults.Set("doctor-accounts.remove", new PatternFault { FailAlways = true, Message = "account is locked" });

        var run = await host.WaitForEndAsync(await host.StartAsync(DeleteDoctorSaga.Name, Delete(id)));

        Assert.Single(host.Simulator.State.Accounts);
        Assert.Empty(host.Simulator.State.Profiles);
        var reply = SagaReplies.Error(run);
        Assert.Empty(reply.GetProperty("compensatedSteps").EnumerateArray());
        Assert.Equal("removeAccount", reply.GetProperty("details").GetProperty("saga").GetProperty("step").GetString());
    }

    /// <summary>
    /// Starts the delete of <paramref name="id"/> with <paramref name="pattern"/>'s reply held until the service carried the
    /// call out (<paramref name="carriedOut"/>), then moves the clock to the call's 12 s timeout. Release the hold at the end.
    /// </summary>
    private static async Task<(string RunId, TaskCompletionSource Hold)> DeleteWithReplyLostAsync(SagaHost host, string id, string pattern, Func<bool> carriedOut)
    {
        var hold = new TaskCompletionSource();
        host.Simulator.Faults.Set(pattern, new PatternFault { ReplyHold = hold.Task });
        var runId = await host.StartAsync(DeleteDoctorSaga.Name, Delete(id));
        await Poll.UntilAsync(() => Task.FromResult(carriedOut()), done => done, $"{pattern} to be carried out");
        host.Simulator.Faults.Clear(pattern);
        host.Time.Advance(TimeSpan.FromSeconds(12));
        return (runId, hold);
    }

    private static async Task<string> CreateAsync(SagaHost host)
    {
        var run = await host.WaitForEndAsync(await host.StartCreateAsync(SagaHost.Command()));
        Assert.Equal(RunStatus.Succeeded, run.Status);
        return JsonSerializer.Deserialize<SagaResult>(run.Output!, JsonSerializerOptions.Web)!.AccountId;
    }

    private UpdateDoctorInput Update(string id) => new()
    {
        Command = new UpdateDoctorCommandDto { Id = id, Account = new JsonObject { ["fullName"] = "Ada King" }, Profile = new JsonObject { ["degree"] = "PhD" } },
        ReceivedAt = DateTimeOffset.UnixEpoch,
    };

    private static DeleteDoctorInput Delete(string id) => new() { Command = new DeleteDoctorCommandDto { Id = id }, ReceivedAt = DateTimeOffset.UnixEpoch };
}
