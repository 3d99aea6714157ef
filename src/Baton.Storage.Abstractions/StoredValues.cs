using System.Globalization;
using Baton.Runs;

namespace Baton.Storage;

/// <summary>
/// The numbers a store writes for the engine's enums, as SQL text, taken from the enums themselves so a
/// statement never spells <c>status &lt; 10</c> or <c>status = 3</c> by hand. Build statements from these once
/// (static fields), so their text stays constant and a prepared statement is reused. The conformance suite
/// pins every stored number.
/// </summary>
public static class StoredValues
{
    /// <summary>SQL predicate over an integer <c>status</c> column: the run is active (<see cref="RunStatusExtensions.IsActive"/>).</summary>
    public static readonly string ActiveStatus = $"status < {Of(RunStatus.Succeeded)}";

    /// <summary>SQL predicate over an integer <c>status</c> column: the run has finished (<see cref="RunStatusExtensions.IsTerminal"/>).</summary>
    public static readonly string TerminalStatus = $"status >= {Of(RunStatus.Succeeded)}";

    /// <summary>
    /// SQL run by a retry that makes the run pending again, so the retried run waits for its events anew:
    /// <list type="bullet">
    /// <item>the event wait whose failure ended the run (its key is the run failure's step, <paramref name="stepParameter"/>: a
    /// timeout or an unreadable payload the workflow did not catch) becomes running again, provided no other step began at
    /// or after its end (nothing stored went on from it). A failed wait the workflow went on from stays failed, and a resumed
    /// run gets its error again;</item>
    /// <item>a wait still in progress (a run cancelled, or failed by another step, while it waited) is marked to begin anew
    /// at <paramref name="nowParameter"/>, so its timeout counts from the retry, as for a reopened one.</item>
    /// </list>
    /// Either way the step is running with an end time, which the engine reads as "begin a new attempt".
    /// </summary>
    public static string ReopenWaits(string stepsTable, string runIdParameter, string stepParameter, string nowParameter) => $"""
        UPDATE {stepsTable} AS waited
        SET status = {Of(StepStatus.Running)},
            completed_at = CASE WHEN waited.status = {Of(StepStatus.Running)} THEN {nowParameter} ELSE waited.completed_at END
        WHERE run_id = {runIdParameter} AND kind = {Of(StepKind.Event)}
            AND ((status = {Of(StepStatus.Running)} AND completed_at IS NULL)
                OR ({FailedWaitToReopen(stepsTable, runIdParameter, stepParameter)}))
        """;

    /// <summary>
    /// SQL run by a retry before <see cref="ReopenWaits"/>: the event the reopened failed wait took (its payload could not be
    /// read) is marked taken by that attempt (<c>consumed_by</c> becomes <c>{key}@{attempt}</c>; an event name has no
    /// <c>@</c>), so the wait's next attempt takes the next event instead of the same one again.
    /// </summary>
    public static string SpendFailedWaitEvent(string stepsTable, string eventsTable, string runIdParameter, string stepParameter) => $"""
        UPDATE {eventsTable} SET consumed_by = consumed_by || '@' || CAST((
                SELECT waited.attempts FROM {stepsTable} AS waited
                WHERE waited.run_id = {runIdParameter} AND waited.key = {stepParameter}) AS TEXT)
        WHERE run_id = {runIdParameter} AND consumed_by = {stepParameter}
            AND EXISTS (
                SELECT 1 FROM {stepsTable} AS waited
                WHERE waited.run_id = {runIdParameter} AND waited.key = {stepParameter} AND waited.kind = {Of(StepKind.Event)}
                    AND {FailedWaitToReopen(stepsTable, runIdParameter, stepParameter)})
        """;

    // The failed wait whose failure ended the run (its key is the run failure's step), with no other step begun at or after
    // its end; over a steps row named "waited".
    private static string FailedWaitToReopen(string stepsTable, string runIdParameter, string stepParameter) => $"""
        waited.status = {Of(StepStatus.Failed)} AND waited.key = {stepParameter}
                AND NOT EXISTS (
                    SELECT 1 FROM {stepsTable} AS later
                    WHERE later.run_id = {runIdParameter} AND later.key <> waited.key AND later.started_at >= waited.completed_at)
        """;

    /// <summary>
    /// SQL run by a retry that makes the run pending again: the failed steps of run <paramref name="runIdParameter"/>
    /// (kind step: steps and fan-out items that failed for good, were cut off by a cancel or timed out) become running
    /// again, with their end time kept and their error cleared, so the retried run runs them again, its attempts numbered
    /// on from the stored ones and with no backoff owed. Without a retry a failed step is thrown again where it is reached.
    /// </summary>
    public static string ReopenFailedSteps(string stepsTable, string runIdParameter) => $"""
        UPDATE {stepsTable} SET status = {Of(StepStatus.Running)}, error = NULL, error_type = NULL
        WHERE run_id = {runIdParameter} AND kind = {Of(StepKind.Step)} AND status = {Of(StepStatus.Failed)}
        """;

    /// <summary>
    /// SQL predicate for retention over the row <paramref name="row"/> of <paramref name="runsTable"/>: the run has no parent,
    /// or its parent is gone. A finished child is the only record of its output until the parent's step takes it, and a
    /// parent (active, or retried later) that found its child pruned started it again: so a child is pruned only after its
    /// parent (one prune round later when both are due).
    /// </summary>
    public static string ParentGone(string runsTable, string row) =>
        $"({row}.parent_run_id IS NULL OR NOT EXISTS (SELECT 1 FROM {runsTable} AS parent WHERE parent.id = {row}.parent_run_id))";

    /// <summary>The stored number of <paramref name="value"/> as SQL text.</summary>
    public static string Of<TEnum>(TEnum value)
        where TEnum : struct, Enum =>
        Convert.ToInt32(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
}
