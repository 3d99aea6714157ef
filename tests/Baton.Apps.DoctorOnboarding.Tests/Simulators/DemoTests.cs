using Baton.Apps.DoctorOnboarding.Tests.Infrastructure;

namespace Baton.Apps.DoctorOnboarding.Tests.Simulators;

/// <summary>The Development demo (<c>Baton:Apps:DoctorOnboarding:Demo:Enabled</c>) beside service stand-ins started by hand.</summary>
[Collection(RedisCollection.Name)]
public sealed class DemoTests
{
    [Fact]
    public async Task Demo_StandInsAlreadyOnTheQueues_StartsNoSecondPairAndSendsNothing()
    {
        // Before: the demo started its own in-process stand-ins on the same queues as the doctor-services simulator the
        // README's tour starts first; RabbitMQ shared each saga's calls between the two pairs, which keep separate doctors,
        // and all three demo sagas ended compensated ("account ... not found" at assignPermissions).
        await using var rig = new ProcessRig();
        await rig.StartSimulatorsAsync();

        await rig.StartServerAsync(new Dictionary<string, string?> { ["Baton__Apps__DoctorOnboarding__Demo__Enabled"] = "true" });
        await Poll.UntilAsync(
            () => Task.FromResult(rig.Server!.Output),
            output => output.Contains("already have consumers", StringComparison.Ordinal),
            "the demo to find the stand-ins",
            TimeSpan.FromSeconds(60));

        Assert.Contains(rig.AccountsQueue, rig.Server!.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("sending 3 doctor creations", rig.Server.Output, StringComparison.Ordinal);
        Assert.Equal(0, await rig.CallsAsync("doctor-accounts.create"));
    }

    [Fact]
    public async Task Demo_NoStandInsOnTheQueues_StartsItsOwnAndRunsItsSagas()
    {
        await using var rig = new ProcessRig();

        await rig.StartServerAsync(new Dictionary<string, string?> { ["Baton__Apps__DoctorOnboarding__Demo__Enabled"] = "true" });
        await Poll.UntilAsync(
            () => Task.FromResult(rig.Server!.Output),
            output => output.Split('\n').Count(l => l.Contains("\"EventId\":6002", StringComparison.Ordinal)) == 3,
            "the demo's three sagas to end",
            TimeSpan.FromSeconds(90));

        Assert.Contains("sending 3 doctor creations", rig.Server!.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("already have consumers", rig.Server.Output, StringComparison.Ordinal);
        Assert.Equal(2, rig.Server.Output.Split('\n').Count(l => l.Contains("\"EventId\":6002", StringComparison.Ordinal) && l.Contains("completed", StringComparison.Ordinal)));
    }
}
