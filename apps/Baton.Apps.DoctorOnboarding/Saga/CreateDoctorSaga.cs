using System.Security.Cryptography;
using Baton.Apps.DoctorOnboarding.Cache;
using Baton.Apps.DoctorOnboarding.Contracts;
using Baton.Retries;
using Baton.Workflows;
using Microsoft.AspNetCore.DataProtection;

namespace Baton.Apps.DoctorOnboarding.Saga;

/// <summary>The stored input of a creation saga: the command with its password protected (ASP.NET Core Data Protection), and when it arrived.</summary>
public sealed record CreateDoctorInput
{
    public required CreateDoctorCommandDto Command { get; init; }
    public required DateTimeOffset ReceivedAt { get; init; }
}

/// <summary>
/// <c>orchestrator.doctor.create</c>: <c>createAccount</c> (compensation: remove the account) → <c>createProfile</c>
/// (compensation: remove the profile) → <c>assignPermissions</c>, each a durable step with the per-call timeout, the
/// whole saga under the saga timeout. A failed step fails the run and the engine runs the compensations of the steps
/// that completed, newest first, each a durable step (a crash while compensating resumes compensating). Each call
/// carries <c>idempotencyKey</c> = saga id + step, so a step that runs again after a crash in the middle of its call
/// finds what its first call created instead of creating a second account (README, "Choices"). When <c>createProfile</c>
/// itself fails, the account's compensation first removes any profile of that account: a call that timed out may have
/// been carried out with its reply lost. An undo that removed an account then drops the doctor's cache key and every list
/// key, as the update and delete sagas do on success: a list read during the saga may hold the doctor, and the seed's
/// services emit no <c>*.deleted</c> event that would drop it.
/// </summary>
internal sealed class CreateDoctorSaga(SagaCalls calls, CompositeCache cache, IDataProtectionProvider protection) : Workflow<CreateDoctorInput, SagaResult>
{
    public const string Name = "doctor-create";

    /// <summary>The no-op step before <c>createAccount</c> whose compensation removes an account whose create reply was lost.</summary>
    public const string GuardStep = "guardAccount";

    /// <summary>The patch that added <see cref="GuardStep"/>.</summary>
    public const string LostAccountPatch = "account-of-a-lost-reply";

    /// <summary>The purpose string of the password's protector.</summary>
    public const string PasswordPurpose = "Baton.Apps.DoctorOnboarding.Password";

    public override async Task<SagaResult> RunAsync(IWorkflowContext context, CreateDoctorInput input, CancellationToken cancellationToken)
    {
        var command = input.Command;
        var patterns = calls.Patterns;
        var sagaId = context.RunId;
        string? createdProfile = null;
        // A refusal made nothing; after a crash it is not known, and the guard's undo asks (a refusal there is nothing to undo).
        var create = new CallOutcome();
        object CreateAccountCall() => new
        {
            email = command.Email, password = Unprotect(protection, command.Password), fullName = command.FullName, phone = command.Phone,
            dob = command.Dob, gender = command.Gender, role = "DOCTOR", idempotencyKey = $"{sagaId}:createAccount",
        };
        var createProfile = new CallOutcome();
        System.Text.Json.Nodes.JsonObject CreateProfileCall(string staffAccountId)
        {
            var payload = command.Profile is { } profile ? (System.Text.Json.Nodes.JsonObject)profile.DeepClone() : [];
            payload["staffAccountId"] = staffAccountId;
            payload["idempotencyKey"] = $"{sagaId}:createProfile";
            return payload;
        }

        // Registered before the call, as a saga registers an undo before a call whose outcome it may never hear: a
        // createAccount cut off by its timeout or by a cancel may have been carried out with its reply lost, and then no
        // compensation of its own would run. Sagas started before this guard keep their old path (a patch).
        if (await context.IsPatchedAsync(LostAccountPatch, cancellationToken).ConfigureAwait(false))
        {
            await SagaCalls.GuardAsync(context, "createAccount", create, async ct =>
            {
                if (await calls.RemoveAccountOfLostCreateAsync(context, CreateAccountCall(), ct).ConfigureAwait(false) is { } lost)
                {
                    await cache.InvalidateDoctorAsync(lost).ConfigureAwait(false);
                }
            }, cancellationToken).ConfigureAwait(false);
        }

        context.SetPhase("createAccount");
        var accountId = await context.StepAsync("createAccount", ct => create.WatchAsync(async () =>
        {
            var reply = await calls.CallAsync(DoctorService.Accounts, patterns.AccountsCreate, CreateAccountCall(), ct).ConfigureAwait(false);
            return SagaCalls.IdOf(reply, "createAccount");
        }), calls.Step, async (id, ct) =>
        {
            // The account first: a directory that does not answer must not keep it. Then, when createProfile failed, any
            // profile of the account: a call that timed out may still have been carried out by the directory, its reply
            // (the profile's id) lost, or be carried out later; a refused one made nothing under its key, so only the
            // look-up is left for it. Then the cache: a composite read while the saga ran may hold the doctor (before, it
            // was dropped only by the services' *.deleted events, which the seed does not list: a list showed the removed
            // doctor for its whole TTL). After the removes, so a read between them cannot store the doctor again.
            try
            {
                await calls.CompensateAsync(context, "createAccount", DoctorService.Accounts, patterns.AccountsRemove, new { id }, ct).ConfigureAwait(false);
                if (createdProfile is null)
                {
                    await calls.RemoveProfileOfAccountAsync(context, id, createProfile.Unknown ? CreateProfileCall(id) : null, ct).ConfigureAwait(false);
                }
            }
            finally
            {
                await cache.InvalidateDoctorAsync(id).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);
        create.Done = true;
        calls.Executed(context, "createAccount", 1);

        context.SetPhase("createProfile");
        var profileId = await context.StepAsync("createProfile", ct => createProfile.WatchAsync(async () =>
        {
            var reply = await calls.CallAsync(DoctorService.ProviderDirectory, patterns.ProfileCreateEmpty, CreateProfileCall(accountId), ct).ConfigureAwait(false);
            return SagaCalls.IdOf(reply, "createProfile");
        }), calls.Step, (id, ct) => calls.CompensateAsync(context, "createProfile", DoctorService.ProviderDirectory, patterns.ProfileRemove, new { id }, ct), cancellationToken).ConfigureAwait(false);
        createdProfile = profileId;
        calls.Executed(context, "createProfile", 2);

        context.SetPhase("assignPermissions");
        await context.StepAsync("assignPermissions", async ct =>
        {
            await calls.CallAsync(DoctorService.Accounts, patterns.AccountsAssignPermissions, new
            {
                id = accountId, permissions = command.Permissions, idempotencyKey = $"{sagaId}:assignPermissions",
            }, ct).ConfigureAwait(false);
            return true;
        }, calls.Step, cancellationToken: cancellationToken).ConfigureAwait(false);
        calls.Executed(context, "assignPermissions", 3);

        context.SetPhase("completed");
        return new SagaResult
        {
            SagaId = sagaId, AccountId = accountId, ProfileId = profileId, ExecutedSteps = SagaReplies.StepsOf(Name),
            DurationMs = calls.DurationMs(input.ReceivedAt),
        };
    }

    /// <summary>
    /// The password as the command gave it. A ring without the key it was protected with (another node, a re-created
    /// container, without a shared <c>Baton:DataProtection:KeysPath</c>) will not have it on a retry either: the step
    /// fails at once, with what to set.
    /// </summary>
    internal static string Unprotect(IDataProtectionProvider protection, string protectedPassword)
    {
        try
        {
            return protection.CreateProtector(PasswordPurpose).Unprotect(protectedPassword);
        }
        catch (CryptographicException ex)
        {
            throw new NonRetryableException(
                "the password was protected with a Data Protection key this process does not have (" + ex.Message
                + "); give every node the same Baton:DataProtection:KeysPath", ex);
        }
    }

    /// <summary>The stored input for a checked command: its password protected, so neither the store nor the run API shows it.</summary>
    public static CreateDoctorInput ToInput(CreateDoctorCommandDto command, IDataProtectionProvider protection, DateTimeOffset receivedAt) => new()
    {
        Command = command with { Password = protection.CreateProtector(PasswordPurpose).Protect(command.Password) },
        ReceivedAt = receivedAt,
    };
}
