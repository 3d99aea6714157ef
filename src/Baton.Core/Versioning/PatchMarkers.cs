using Baton.Compensation;
using Baton.Runs;
using Baton.Steps;
using Baton.Storage;

namespace Baton.Versioning;

/// <summary>
/// Patch markers of one execution (<c>IsPatched</c>): the decision is stored as a <see cref="StepKind.Patch"/> step the
/// first time a run reaches the call, so every later execution of the run takes the same path.
/// </summary>
internal sealed class PatchMarkers(ExecutionState state)
{
    private const string KeyPrefix = "patch:";

    /// <summary>
    /// The stored decision; else false while the run replays steps stored before, and otherwise true (stored), or for a later
    /// call with the id the answer of its first.
    /// </summary>
    public async Task<bool> IsPatchedAsync(string changeId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(changeId);
        // Checked as the id, not as the step key it makes: a bad id was refused in a step name's words, about "patch:{id}".
        if (ExecutionState.NameProblem(changeId, "a patch id", RunLimits.MaxStepKeyLength - KeyPrefix.Length, "the repeated calls of one id are keyed patch:{id}#2, patch:{id}#3, ...") is { } problem)
        {
            throw new ArgumentException(problem, nameof(changeId));
        }

        cancellationToken.ThrowIfCancellationRequested();
        var first = KeyPrefix + changeId;
        var key = state.NextKey(first);
        if (state.Stored.TryGetValue(key, out var stored) && stored.Status == StepStatus.Succeeded)
        {
            return state.Deserialize<bool>(stored.Result);
        }

        // A run that stored steps past this point ran them on code without the patch: it keeps the old path. Otherwise a later
        // call with the id takes the answer of its first (one change guarded in two places is taken at both or neither):
        // before, a run resumed between the two took the old path at the first and the new one at the second.
        var patched = !state.IsReplaying();
        if (patched && !state.ReplayOnly && key != first && state.Stored.TryGetValue(first, out var decided) && decided.Status == StepStatus.Succeeded)
        {
            patched = state.Deserialize<bool>(decided.Result);
        }

        if (state.ReplayOnly)
        {
            // Collecting compensations: a run that went past this point on code without the patch takes the old path
            // (not stored: this execution only undoes); one whose forward execution never got here stops here. Before, both
            // stopped, so a run compensating when the patch was deployed lost the compensations of every step after it.
            return patched ? throw new CompensationReplayStop() : false;
        }

        var now = state.Engine.Time.GetUtcNow();
        var result = state.Serialize(patched);
        await state.EndAttemptAsync(new AttemptEndedRequest
        {
            RunId = state.RunId, Owner = state.Engine.Owner, StepKey = key, Kind = StepKind.Patch, Attempt = 1,
            StartedAt = now, EndedAt = now, Outcome = AttemptOutcome.Succeeded, StepStatus = StepStatus.Succeeded, Result = result,
        }).ConfigureAwait(false);
        state.Stored[key] = new StepRecord
        {
            RunId = state.RunId, Key = key, Kind = StepKind.Patch, Status = StepStatus.Succeeded, Result = result, Attempts = 1, StartedAt = now, CompletedAt = now,
        };
        return patched;
    }
}
