using System.Text.Json.Nodes;
using Baton.Apps.DoctorOnboarding.Cache;
using Baton.Apps.DoctorOnboarding.Contracts;
using Baton.Workflows;

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
/// they arrive).
/// </summary>
internal sealed class UpdateDoctorSaga(SagaCalls calls, CompositeCache cache) : Workflow<UpdateDoctorInput, SagaResult>
{
    public const string Name = "doctor-update";

    public override async Task<SagaResult> RunAsync(IWorkflowContext context, UpdateDoctorInput input, CancellationToken cancellationToken)
    {
        var command = input.Command;
        var patterns = calls.Patterns;
        context.SetPhase("loadDoctor");
        var before = await DoctorSnapshot.LoadAsync(context, calls, command.Id, cancellationToken).ConfigureAwait(false);
        calls.Executed(context, "loadDoctor", 1);

        context.SetPhase("updateAccount");
        await context.StepAsync("updateAccount", async ct =>
        {
            if (command.Account is { } changes)
            {
                await calls.CallAsync(DoctorService.Accounts, patterns.AccountsUpdate, With(changes, "id", command.Id), ct).ConfigureAwait(false);
            }

            return command.Account is not null;
        }, calls.Step, (changed, ct) => changed
            ? calls.CompensateAsync(context, "updateAccount", DoctorService.Accounts, patterns.AccountsUpdate,
                With(DoctorSnapshot.Previous(before.Account, command.Account!), "id", command.Id), ct)
            : Task.CompletedTask, cancellationToken).ConfigureAwait(false);
        calls.Executed(context, "updateAccount", 2);

        context.SetPhase("updateProfile");
        await context.StepAsync("updateProfile", async ct =>
        {
            if (command.Profile is not { } changes)
            {
                return false;
            }

            var profileId = before.ProfileId ?? throw new Retries.NonRetryableException($"doctor {command.Id} has no profile to update");
            await calls.CallAsync(DoctorService.ProviderDirectory, patterns.ProfileUpdate, With(changes, "id", profileId), ct).ConfigureAwait(false);
            return true;
        }, calls.Step, (changed, ct) => changed
            ? calls.CompensateAsync(context, "updateProfile", DoctorService.ProviderDirectory, patterns.ProfileUpdate,
                With(DoctorSnapshot.Previous(before.Profile!.Value, command.Profile!), "id", before.ProfileId!), ct)
            : Task.CompletedTask, cancellationToken).ConfigureAwait(false);
        calls.Executed(context, "updateProfile", 3);

        await cache.InvalidateDoctorAsync(command.Id).ConfigureAwait(false);
        context.SetPhase("completed");
        return new SagaResult
        {
            SagaId = context.RunId, AccountId = command.Id, ProfileId = before.ProfileId, ExecutedSteps = SagaReplies.StepsOf(Name),
            DurationMs = calls.DurationMs(input.ReceivedAt),
        };
    }

    internal static JsonObject With(JsonObject fields, string name, string value)
    {
        var copy = (JsonObject)fields.DeepClone();
        copy[name] = value;
        return copy;
    }
}
