using System.Text.Json;
using Baton.Simulators.DoctorServices;

namespace Baton.Apps.DoctorOnboarding.Tests.Simulators;

/// <summary>The accounts simulator's unique email (kept in an index rather than found by scanning every account).</summary>
public sealed class AccountEmailTests
{
    private readonly DoctorServicesSimulator _simulator = new();

    [Fact]
    public async Task Create_EmailTakenInAnotherCase_Answers409()
    {
        await CreateAsync("Ann@Example.org");

        var refused = await Assert.ThrowsAsync<SimulatedServiceException>(() => CreateAsync("ann@example.ORG"));

        Assert.Equal(409, refused.StatusCode);
        Assert.Single(_simulator.State.Accounts);
    }

    [Fact]
    public async Task Create_EmailFreedByRemoveOrUpdate_IsAcceptedAgain()
    {
        var removed = await CreateAsync("ann@example.org");
        var renamed = await CreateAsync("bob@example.org");
        await _simulator.HandleAsync("doctor-accounts.remove", JsonSerializer.SerializeToElement(new { id = removed }));
        await _simulator.HandleAsync("doctor-accounts.update", JsonSerializer.SerializeToElement(new { id = renamed, email = "robert@example.org" }));

        await CreateAsync("ann@example.org");
        await CreateAsync("bob@example.org");
        var refused = await Assert.ThrowsAsync<SimulatedServiceException>(() => CreateAsync("robert@example.org"));

        Assert.Equal(409, refused.StatusCode);
        Assert.Equal(3, _simulator.State.Accounts.Count);
    }

    private async Task<string> CreateAsync(string email)
    {
        var account = await _simulator.HandleAsync("doctor-accounts.create", JsonSerializer.SerializeToElement(new { email, fullName = "A", password = "secret-password" }));
        return account!["id"]!.GetValue<string>();
    }
}
