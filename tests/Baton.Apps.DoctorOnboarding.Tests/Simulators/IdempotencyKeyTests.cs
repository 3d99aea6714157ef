using System.Text.Json;
using Baton.Simulators.DoctorServices;

namespace Baton.Apps.DoctorOnboarding.Tests.Simulators;

/// <summary>The simulators' idempotency keys, which the sagas' retries and guards rely on (the app README, "Choices").</summary>
public sealed class IdempotencyKeyTests
{
    private readonly DoctorServicesSimulator _simulator = new();

    [Fact]
    public async Task CreateAccount_SameKeyAgain_ReturnsTheFirstAccountAndMakesNoOther()
    {
        var first = await CreateAccountAsync("ann@example.org", "saga-1:createAccount");

        var again = await CreateAccountAsync("ann@example.org", "saga-1:createAccount");

        Assert.Equal(first, again);
        Assert.Single(_simulator.State.Accounts);
    }

    [Fact]
    public async Task CreateAccount_SameKeyAfterTheAccountWasRemoved_MakesNothing()
    {
        // A create delivered again after the saga's compensation removed its account (a broker redelivering an unacknowledged
        // request after a restart). Before: the key was forgotten with its account and the late create made a new one, left
        // behind with no saga to remove it (BrokerRestartTests, once in CI: one account left, no saga succeeded).
        var first = await CreateAccountAsync("ann@example.org", "saga-1:createAccount");
        await _simulator.HandleAsync("doctor-accounts.remove", JsonSerializer.SerializeToElement(new { id = first }));

        var again = await CreateAccountAsync("ann@example.org", "saga-1:createAccount");

        Assert.Equal(first, again);
        Assert.Empty(_simulator.State.Accounts);
        // Another saga's create (another key) makes its account: the email was freed by the remove.
        var other = await CreateAccountAsync("ann@example.org", "saga-2:createAccount");
        Assert.NotEqual(first, other);
        Assert.Equal(other, Assert.Single(_simulator.State.Accounts)["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task CreateProfile_SameKeyAfterTheProfileWasRemoved_MakesNothing()
    {
        var input = new { staffAccountId = "acc-1", specialty = "cardiology", idempotencyKey = "saga-1:createProfile" };
        var first = (await _simulator.HandleAsync("doctor-profile.createEmpty", JsonSerializer.SerializeToElement(input)))!["id"]!.GetValue<string>();
        await _simulator.HandleAsync("doctor-profile.remove", JsonSerializer.SerializeToElement(new { id = first }));

        var again = (await _simulator.HandleAsync("doctor-profile.createEmpty", JsonSerializer.SerializeToElement(input)))!["id"]!.GetValue<string>();

        Assert.Equal(first, again);
        Assert.Empty(_simulator.State.Profiles);
    }

    private async Task<string> CreateAccountAsync(string email, string idempotencyKey)
    {
        var account = await _simulator.HandleAsync(
            "doctor-accounts.create", JsonSerializer.SerializeToElement(new { email, fullName = "A", password = "secret-password", idempotencyKey }));
        return account!["id"]!.GetValue<string>();
    }
}
