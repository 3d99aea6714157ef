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
        await rig.StartSimulatorsAsync();
        await rig.StartServerAsync();
        await rig.FaultAsync("doctor-profile.createEmpty", delayMs: 2000);

        var reply = rig.Gateway.SendAsync("orchestrator.doctor.create", OrchestratorRig.Doctor($"crash-{Guid.NewGuid():N}@example.org"), TimeSpan.FromSeconds(90));
        await rig.WaitForCallAsync("doctor-profile.createEmpty", "the saga to reach createProfile", reply);
        rig.Server!.Kill();
        await rig.Server.WaitForExitAsync(TimeSpan.FromSeconds(10));
        await rig.FaultAsync("doctor-profile.createEmpty");
        await rig.StartServerAsync();

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
