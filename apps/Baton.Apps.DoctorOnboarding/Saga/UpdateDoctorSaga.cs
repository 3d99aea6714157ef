using System.Text.Json.Nodes;
using Baton.Apps.DoctorOnboarding.Cache;
using Baton.Apps.DoctorOnboarding.Contracts;
using Baton.Workflows;
using Microsoft.AspNetCore.DataProtection;

namespace Baton.Apps.DoctorOnboarding.Saga;

/// <summary>The stored input of an update saga.</summary>
public sealed record UpdateDoctorInput
{
    public required UpdateDoctorCommandDto Command { get; init; }
    public required DateTimeOffset ReceivedAt { get; init; }
}

/// <summary>
/// <c>orchestrator.doctor.update</c> as a saga: <c>loadDoctor</c> (the account and profile as they are) →
/// <c>updateAccount</c> (compensation: put the changed fields back) → <c>updateProfile</c> (compensation: the same). A
/// part with nothing to change is a step that calls nothing, so every update saga has the same steps. On success the
/// doctor's cache keys and every list key are dropped (the services' events do it too; this closes the window before
/// they arrive). A new password in <c>account</c> is stored protected (<see cref="ToInput"/>) and unprotected only for the
/// call; an undo cannot put the old one back (it is never readable), so it restores the other fields only.
/// </summary>
internal sealed class UpdateDoctorSaga(SagaCalls calls, CompositeCache cache, IDataProtectionProvider protection) : Workflow<UpdateDoctorInput, SagaResult>
{
    public const string Name = "doctor-update";

    /// <summary>The patch that refuses a profile change for a doctor without a profile before the account is updated.</summary>
    public const string ProfileCheckedFirstPatch = "profile-checked-first";

    /// <summary>
    /// The stored input for a checked command: a new password in <c>account</c> protected as the create saga protects its
    /// password, so neither the store nor the run API shows it.
    /// </summary>
    public static UpdateDoctorInput ToInput(UpdateDoctorCommandDto command, IDataProtectionProvider protection, DateTimeOffset receivedAt)
    {
        if (command.Account?[UpdateDoctorCommandDto.PasswordField] is JsonValue password && password.TryGetValue<string>(out var text))
        {
            var account = (JsonObject)command.Account.DeepClone();
            account[UpdateDoctorCommandDto.PasswordField] = protection.CreateProtector(CreateDoctorSaga.PasswordPurpose).Protect(text);
            command = command with { Account = account };
        }

        return new UpdateDoctorInput { Command = command, ReceivedAt = receivedAt };
    }

    public override async Task<SagaResult> RunAsync(IWorkflowContext context, UpdateDoctorInput input, CancellationToken cancellationToken)
    {
        var command = input.Command;
        var patterns = calls.Patterns;
        context.SetPhase("loadDoctor");
        var before = await DoctorSnapshot.LoadAsync(context, calls, command.Id, cancellationToken).ConfigureAwait(false);
        // A profile change for a doctor without a profile can never apply: refused before anything changes. Before, the
        // account was updated first (a new password too, which no undo puts back) and then undone. Sagas that went past
        // this point before the check keep their old path (a patch), so their account update keeps its undo.
        if (command.Profile is not null && before.ProfileId is null
            && await context.IsPatchedAsync(ProfileCheckedFirstPatch, cancellationToken).ConfigureAwait(false))
        {
            throw new Retries.NonRetryableException($"doctor {command.Id} has no profile to update");
        }

        calls.Executed(context, "loadDoctor", 1);

        // The undos put the fields back as loadDoctor read them: harmless when the change never applied, so a call whose
        // outcome is unknown (a timeout or a cancel after the service carried it out) is undone too, by a guard step before
        // it (sagas started before the guards keep their old path).
        Task UndoAccountAsync(CancellationToken ct) => command.Account is null ? Task.CompletedTask
            : calls.CompensateAsync(context, "updateAccount", DoctorService.Accounts, patterns.AccountsUpdate,
                With(WithoutPassword(DoctorSnapshot.Previous(before.Account, command.Account)), "id", command.Id), ct);
        Task UndoProfileAsync(CancellationToken ct) => command.Profile is null || before.ProfileId is null ? Task.CompletedTask
            : calls.CompensateAsync(context, "updateProfile", DoctorService.ProviderDirectory, patterns.ProfileUpdate,
                With(DoctorSnapshot.Previous(before.Profile!.Value, command.Profile), "id", before.ProfileId), ct);
        Func<CancellationToken, Task> UndoneAsync(string step, Func<CancellationToken, Task> undo) => async ct =>
        {
            await undo(ct).ConfigureAwait(false);
            context.SetProgress(SagaReplies.UndoneCounter(step), 1);
        };
        var guarded = await context.IsPatchedAsync(SagaCalls.LostReplyPatch, cancellationToken).ConfigureAwait(false);

        context.SetPhase("updateAccount");
        var accountCall = new CallOutcome();
        if (guarded)
        {
            await SagaCalls.GuardAsync(context, "updateAccount", accountCall, UndoneAsync("updateAccount", UndoAccountAsync), cancellationToken).ConfigureAwait(false);
        }

        var accountChanged = await context.StepAsync("updateAccount", ct => accountCall.WatchAsync(async () =>
        {
            if (command.Account is { } changes)
            {
                var call = With(changes, "id", command.Id);
                if (call[UpdateDoctorCommandDto.PasswordField] is JsonValue stored && stored.TryGetValue<string>(out var protectedPassword))
                {
                    call[UpdateDoctorCommandDto.PasswordField] = CreateDoctorSaga.Unprotect(protection, protectedPassword);
                }

                await calls.CallAsync(DoctorService.Accounts, patterns.AccountsUpdate, call, ct).ConfigureAwait(false);
            }

            return command.Account is not null;
        }), calls.Step, (changed, ct) => changed ? UndoAccountAsync(ct) : Task.CompletedTask, cancellationToken).ConfigureAwait(false);
        accountCall.Done = true;
        SagaCalls.Skipped(context, "updateAccount", accountChanged);
        calls.Executed(context, "updateAccount", 2);

        context.SetPhase("updateProfile");
        var profileCall = new CallOutcome();
        if (guarded)
        {
            await SagaCalls.GuardAsync(context, "updateProfile", profileCall, UndoneAsync("updateProfile", UndoProfileAsync), cancellationToken).ConfigureAwait(false);
        }

        var profileChanged = await context.StepAsync("updateProfile", ct => profileCall.WatchAsync(async () =>
        {
            if (command.Profile is not { } changes)
            {
                return false;
            }

            var profileId = before.ProfileId ?? throw new Retries.NonRetryableException($"doctor {command.Id} has no profile to update");
            await calls.CallAsync(DoctorService.ProviderDirectory, patterns.ProfileUpdate, With(changes, "id", profileId), ct).ConfigureAwait(false);
            return true;
        }), calls.Step, (changed, ct) => changed ? UndoProfileAsync(ct) : Task.CompletedTask, cancellationToken).ConfigureAwait(false);
        profileCall.Done = true;
        SagaCalls.Skipped(context, "updateProfile", profileChanged);
        calls.Executed(context, "updateProfile", 3);

        await cache.InvalidateDoctorAsync(command.Id).ConfigureAwait(false);
        context.SetPhase("completed");
        return new SagaResult
        {
            SagaId = context.RunId, AccountId = command.Id, ProfileId = before.ProfileId, ExecutedSteps = SagaReplies.StepsOf(Name),
            DurationMs = calls.DurationMs(input.ReceivedAt),
        };
    }

    /// <summary>The old password is never readable, so the undo puts back every other field and leaves the new password.</summary>
    private static JsonObject WithoutPassword(JsonObject previous)
    {
        previous.Remove(UpdateDoctorCommandDto.PasswordField);
        return previous;
    }

    internal static JsonObject With(JsonObject fields, string name, string value)
    {
        var copy = (JsonObject)fields.DeepClone();
        copy[name] = value;
        return copy;
    }
}
