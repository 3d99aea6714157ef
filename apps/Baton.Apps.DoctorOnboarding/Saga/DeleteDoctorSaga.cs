using System.Text.Json.Nodes;
using Baton.Apps.DoctorOnboarding.Cache;
using Baton.Apps.DoctorOnboarding.Contracts;
using Baton.Workflows;

namespace Baton.Apps.DoctorOnboarding.Saga;

/// <summary>The stored input of a delete saga.</summary>
public sealed record DeleteDoctorInput
{
    public required DeleteDoctorCommandDto Command { get; init; }
    public required DateTimeOffset ReceivedAt { get; init; }
}

/// <summary>
/// <c>orchestrator.doctor.delete</c> as a saga (the issue: the profile first, then the account): <c>loadDoctor</c> →
/// <c>removeProfile</c> (compensation: create the profile again from what <c>loadDoctor</c> read; it gets a new id) →
/// <c>removeAccount</c>. On success the doctor's cache keys and every list key are dropped. A remove answered "not found"
/// counts as done (the entity was there at <c>loadDoctor</c>): a call repeated after its reply was lost must not fail a
/// saga whose first call did the work, leaving the profile removed and the account not.
/// </summary>
internal sealed class DeleteDoctorSaga(SagaCalls calls, CompositeCache cache) : Workflow<DeleteDoctorInput, SagaResult>
{
    public const string Name = "doctor-delete";

    public override async Task<SagaResult> RunAsync(IWorkflowContext context, DeleteDoctorInput input, CancellationToken cancellationToken)
    {
        var id = input.Command.Id;
        var patterns = calls.Patterns;
        var sagaId = context.RunId;
        context.SetPhase("loadDoctor");
        var before = await DoctorSnapshot.LoadAsync(context, calls, id, cancellationToken).ConfigureAwait(false);
        calls.Executed(context, "loadDoctor", 1);

        context.SetPhase("removeProfile");
        // A remove cut off by its timeout or a cancel may have been carried out: a guard step before it (sagas started
        // before it keep their old path) puts the profile back when it is gone and the step did not end.
        var removeCall = new CallOutcome();
        if (await context.IsPatchedAsync(SagaCalls.LostReplyPatch, cancellationToken).ConfigureAwait(false))
        {
            await SagaCalls.GuardAsync(context, "removeProfile", removeCall, ct => RestoreProfileIfGoneAsync(context, id, before, sagaId, ct), cancellationToken).ConfigureAwait(false);
        }

        var removed = await context.StepAsync("removeProfile", ct => removeCall.WatchAsync(async () =>
        {
            if (before.ProfileId is not { } profileId)
            {
                return false;
            }

            try
            {
                await calls.CallAsync(DoctorService.ProviderDirectory, patterns.ProfileRemove, new { id = profileId }, ct).ConfigureAwait(false);
            }
            catch (ServiceCallException ex) when (ex.IsNotFound)
            {
                // loadDoctor found it, so it was removed since: by this step's own call whose reply was lost (a crash, a broker
                // connection closed under the call), or by someone else. Either way it is gone, as asked.
            }

            return true;
        }), calls.Step, (removed, ct) => removed ? RestoreProfileAsync(context, id, before, sagaId, ct) : Task.CompletedTask, cancellationToken).ConfigureAwait(false);
        removeCall.Done = true;
        SagaCalls.Skipped(context, "removeProfile", removed);
        calls.Executed(context, "removeProfile", 2);

        context.SetPhase("removeAccount");
        await context.StepAsync("removeAccount", async ct =>
        {
            try
            {
                await calls.CallAsync(DoctorService.Accounts, patterns.AccountsRemove, new { id }, ct).ConfigureAwait(false);
            }
            catch (ServiceCallException ex) when (ex.IsNotFound)
            {
                // loadDoctor found it, so it was removed since (most likely by this step's own call whose reply was lost:
                // a crash, or a broker connection closed under the call, retried in the same process): gone, as asked.
            }

            return true;
        }, calls.RemoveStep, cancellationToken: cancellationToken).ConfigureAwait(false);
        calls.Executed(context, "removeAccount", 3);

        await cache.InvalidateDoctorAsync(id).ConfigureAwait(false);
        context.SetPhase("completed");
        return new SagaResult
        {
            SagaId = sagaId, AccountId = id, ProfileId = before.ProfileId, ExecutedSteps = SagaReplies.StepsOf(Name),
            DurationMs = calls.DurationMs(input.ReceivedAt),
        };
    }

    /// <summary>Creates the profile again when the directory no longer has one for the account (a remove whose reply was lost).</summary>
    private async Task RestoreProfileIfGoneAsync(IWorkflowContext context, string accountId, DoctorSnapshot before, string sagaId, CancellationToken cancellationToken)
    {
        if (before.ProfileId is null || await calls.HasProfileAsync(accountId, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        await RestoreProfileAsync(context, accountId, before, sagaId, cancellationToken).ConfigureAwait(false);
        context.SetProgress(SagaReplies.UndoneCounter("removeProfile"), 1);
    }

    /// <summary>
    /// Creates the profile again, then drops the doctor's cache key and every list key, as the saga's success does: a read
    /// while the profile was gone may have stored the doctor without it (before, only the directory's
    /// <c>doctor.profile.created</c> event dropped it, which the seed does not list: a list showed the doctor without its
    /// profile for its whole TTL).
    /// </summary>
    private async Task RestoreProfileAsync(IWorkflowContext context, string accountId, DoctorSnapshot before, string sagaId, CancellationToken cancellationToken)
    {
        var profile = JsonNode.Parse(before.Profile!.Value.GetRawText())!.AsObject();
        profile.Remove("id");
        profile["idempotencyKey"] = $"{sagaId}:restoreProfile";
        await calls.CompensateAsync(context, "removeProfile", DoctorService.ProviderDirectory, calls.Patterns.ProfileCreateEmpty, profile, cancellationToken).ConfigureAwait(false);
        await cache.InvalidateDoctorAsync(accountId).ConfigureAwait(false);
    }
}
