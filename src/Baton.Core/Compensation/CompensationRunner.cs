using Baton.Diagnostics;
using Baton.Runs;
using Baton.Steps;
using Baton.Storage;

namespace Baton.Compensation;

/// <summary>Which compensation failed for good, named by the step it compensates.</summary>
internal sealed record CompensationFailure(string Step, StepFailedException Exception);

/// <summary>Runs the compensations of a failed or cancelled run, newest first, each as a durable step.</summary>
internal sealed class CompensationRunner(ExecutionState state, StepRunner steps)
{
    /// <summary>
    /// Runs every compensation, newest first: in reverse order of the calls that made them (a fan-out's items in reverse
    /// order of listing), which a replay (a resume, a retry of <c>compensation_failed</c>) repeats exactly. Before, steps run in
    /// parallel registered in the order they ended, and on replay in the order of the code; the stored end times cannot
    /// order them either, since a clock that steps back (another node's) would reverse a sequential saga. A compensation
    /// completed in an earlier execution is not run again. Returns the first that failed for good (the rest are not run), or
    /// null. Only shutdown or a lost lease stop it (their exception goes up): a cancel request does not.
    /// </summary>
    public async Task<CompensationFailure?> RunAllAsync(IReadOnlyList<PendingCompensation> registered)
    {
        var compensations = registered.OrderBy(c => c.Call).ThenBy(c => c.Item).ToList();
        for (var i = compensations.Count - 1; i >= 0; i--)
        {
            var compensation = compensations[i];
            var key = StepKeys.Compensation(compensation.StepKey);
            // One completed in an earlier execution is not run again, so it gets no span either.
            var span = state.Stored.TryGetValue(key, out var done) && done.Status == StepStatus.Succeeded
                ? null
                : BatonTracing.StartCompensation(state.RunId, state.Definition.Name, compensation.StepKey);
            try
            {
                await steps.RunAsync(
                    key,
                    StepKind.Compensation,
                    async ct =>
                    {
                        await compensation.Action(ct).ConfigureAwait(false);
                        return null;
                    },
                    null,
                    StepStatus.Failed,
                    CancellationToken.None,
                    state.Active.InterruptToken).ConfigureAwait(false);
                BatonTracing.End(span, "succeeded", null);
            }
            catch (StepFailedException ex)
            {
                BatonTracing.End(span, "failed", ex);
                return new CompensationFailure(compensation.StepKey, ex);
            }
            catch (Exception ex)
            {
                BatonTracing.End(span, "interrupted", ex);
                throw;
            }
        }

        return null;
    }
}
