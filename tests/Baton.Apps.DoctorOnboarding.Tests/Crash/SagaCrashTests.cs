using System.Text.Json;
using Baton.Apps.DoctorOnboarding.Tests.Infrastructure;
using Baton.RabbitMq;

namespace Baton.Apps.DoctorOnboarding.Tests.Crash;

[Collection(RedisCollection.Name)]
public sealed class SagaCrashTests
{
    [Fact]
    public async Task Sigkill_MidSaga_ResumesAfterRestartAndWaitingCallerGetsReply()
    {
        await using var rig = new ProcessRig();

        var reply = await KillWhileHeldThenRestartAsync(rig, "doctor-profile.createEmpty", "createProfile", () => []);

        var result = (await reply)!.Value;
        Assert.Equal("completed", result.GetProperty("status").GetString());
        var state = await rig.StateAsync();
        var account = Assert.Single(state.GetProperty("accounts").EnumerateArray());
        var profile = Assert.Single(state.GetProperty("profiles").EnumerateArray());
        Assert.Equal(result.GetProperty("accountId").GetString(), account.GetProperty("id").GetString());
        Assert.Equal(result.GetProperty("profileId").GetString(), profile.GetProperty("id").GetString());
        Assert.Equal(1, await rig.CallsAsync("doctor-accounts.create"));
    }

    [Fact]
    public async Task Sigkill_InCreateAccount_RestartedWithAnotherHomeAndTheSharedKeyRing_ReadsThePasswordAndCompletes()
    {
        // Each process has a home of its own (another default key ring, as another node or a re-created container has);
        // the password is protected by the process that took the request and read back by the createAccount step.
        var keys = Path.Combine(TestPaths.NewTempDirectory(), "keys");
        await using var rig = new ProcessRig();

        var reply = await KillWhileHeldThenRestartAsync(rig, "doctor-accounts.create", "createAccount", () => ServerEnvironment.OwnHome(keys));

        var result = (await reply)!.Value;
        Assert.Equal("completed", result.GetProperty("status").GetString());
        var account = Assert.Single((await rig.StateAsync()).GetProperty("accounts").EnumerateArray());
        Assert.Equal(result.GetProperty("accountId").GetString(), account.GetProperty("id").GetString());
        Assert.NotEmpty(Directory.GetFiles(keys, "key-*.xml"));
    }

    [Fact]
    public async Task Sigkill_InCreateAccount_RestartedWithAnotherHomeAndNoSharedKeyRing_CannotReadThePassword()
    {
        await using var rig = new ProcessRig();

        var reply = await KillWhileHeldThenRestartAsync(rig, "doctor-accounts.create", "createAccount", () => ServerEnvironment.OwnHome(keys: null));

        // What Baton:DataProtection:KeysPath is for: without it the resumed step cannot unprotect the password.
        var error = await Assert.ThrowsAsync<NestRpcException>(() => reply);
        Assert.Contains("was not found in the key ring", error.Message, StringComparison.Ordinal);
        Assert.Contains("give every node the same Baton:DataProtection:KeysPath", error.Message, StringComparison.Ordinal);
        // Failed at once (no retry can find the key), and nothing to compensate: the step never ended.
        Assert.Equal(1, await rig.CallsAsync("doctor-accounts.create"));
    }

    /// <summary>
    /// Starts a create, SIGKILLs the server while a service holds the saga's call <paramref name="pattern"/> (made by
    /// step <paramref name="step"/>), and starts it again; <paramref name="node"/> gives each process's extra environment.
    /// </summary>
    private static async Task<Task<JsonElement?>> KillWhileHeldThenRestartAsync(ProcessRig rig, string pattern, string step, Func<Dictionary<string, string?>> node)
    {
        await rig.StartSimulatorsAsync();
        await rig.StartServerAsync(node());
        await rig.FaultAsync(pattern, delayMs: 2000);

        var reply = rig.Gateway.SendAsync("orchestrator.doctor.create", OrchestratorRig.Doctor($"crash-{Guid.NewGuid():N}@example.org"), TimeSpan.FromSeconds(90));
        await rig.WaitForCallAsync(pattern, $"the saga to reach {step}", reply);
        rig.Server!.Kill();
        await rig.Server.WaitForExitAsync(TimeSpan.FromSeconds(10));
        await rig.FaultAsync(pattern);
        await rig.StartServerAsync(node());
        return reply;
    }

    [Fact]
    public async Task Sigkill_AfterTheDirectoryRemovedTheProfileBeforeItsReply_DeleteCompletesAndRemovesTheAccount()
    {
        // Before: the resumed removeProfile got "not found" from its repeated call and failed the saga with nothing to
        // compensate, leaving the doctor half deleted (the profile gone, the account still there).
        await using var rig = new ProcessRig();
        await rig.StartSimulatorsAsync();
        await rig.StartServerAsync();
        var created = (await rig.Gateway.SendAsync("orchestrator.doctor.create", OrchestratorRig.Doctor($"del-{Guid.NewGuid():N}@example.org"), TimeSpan.FromSeconds(60)))!.Value;
        var accountId = created.GetProperty("accountId").GetString()!;
        await rig.FaultAsync("doctor-profile.remove", replyDelayMs: 4000);

        var reply = rig.Gateway.SendAsync("orchestrator.doctor.delete", new { id = accountId }, TimeSpan.FromSeconds(90));
        await Poll.UntilAsync(rig.StateAsync, s => s.GetProperty("profiles").GetArrayLength() == 0, "the directory to remove the profile (its reply held)");
        rig.Server!.Kill();
        await rig.Server.WaitForExitAsync(TimeSpan.FromSeconds(10));
        await rig.FaultAsync("doctor-profile.remove");
        await rig.StartServerAsync();

        var result = (await reply)!.Value;
        Assert.Equal("completed", result.GetProperty("status").GetString());
        var state = await rig.StateAsync();
        Assert.Empty(state.GetProperty("accounts").EnumerateArray());
        Assert.Empty(state.GetProperty("profiles").EnumerateArray());
        Assert.Equal(2, await rig.CallsAsync("doctor-profile.remove"));
    }

    [Fact]
    public async Task Sigkill_MidCompensation_FinishesCompensatingAfterRestartLeavingNothing()
    {
        await using var rig = new ProcessRig();
        await rig.StartSimulatorsAsync();
        await rig.StartServerAsync();
        await rig.FaultAsync("doctor-accounts.assignPermissions", failAlways: true, message: "role service down");
        await rig.FaultAsync("doctor-accounts.remove", delayMs: 2000);

        var reply = rig.Gateway.SendAsync("orchestrator.doctor.create", OrchestratorRig.Doctor($"comp-{Guid.NewGuid():N}@example.org"), TimeSpan.FromSeconds(90));
        await rig.WaitForCallAsync("doctor-accounts.remove", "the saga to compensate createAccount", reply);
        rig.Server!.Kill();
        await rig.Server.WaitForExitAsync(TimeSpan.FromSeconds(10));
        await rig.FaultAsync("doctor-accounts.remove");
        await rig.StartServerAsync();

        var error = await Assert.ThrowsAsync<NestRpcException>(() => reply);
        Assert.Equal("role service down", error.Error.GetProperty("message").GetString());
        Assert.Equal("compensated", error.Error.GetProperty("details").GetProperty("saga").GetProperty("state").GetString());
        var state = await rig.StateAsync();
        Assert.Empty(state.GetProperty("accounts").EnumerateArray());
        Assert.Empty(state.GetProperty("profiles").EnumerateArray());
        Assert.Equal(1, await rig.CallsAsync("doctor-profile.remove"));
    }
}
