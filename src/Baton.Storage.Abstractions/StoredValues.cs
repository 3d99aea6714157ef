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
    /// SQL run by a retry that makes the run pending again:
    /// <list type="bullet">
    /// <item>the step or event wait whose failure ended the run (its key is the run failure's step,
    /// <paramref name="stepParameter"/>: a step that failed for good, a timeout or an unreadable payload) becomes running
    /// again with its end time kept and its error cleared, so the retried run runs it again (attempts numbered on, no backoff
    /// owed) or waits for its event again with a new timeout. Other failed steps stay failed, and a replay throws their
    /// failure again where it reaches them: the workflow saw them and may have gone on from them (caught one and ran a
    /// fallback);</item>
    /// <item>an event wait still in progress (a run cancelled, or failed by another step, while it waited) is marked to begin
    /// anew at <paramref name="nowParameter"/>, so its timeout counts from the retry.</item>
    /// </list>
    /// Running with an end time is what the engine reads as "begin a new attempt" for a wait. Before, every failed step was run
    /// again, and a fallback's replay took the other branch; and a timeout was reopened only when no step began after it,
    /// which a parallel branch's steps prevented for good.
    /// </summary>
    public static string ReopenFailed(string stepsTable, string runIdParameter, string stepParameter, string nowParameter) => $"""
        UPDATE {stepsTable} AS reopened
        SET status = {Of(StepStatus.Running)}, error = NULL, error_type = NULL,
            completed_at = CASE WHEN reopened.status = {Of(StepStatus.Running)} THEN {nowParameter} ELSE reopened.completed_at END
        WHERE run_id = {runIdParameter}
            AND ((kind = {Of(StepKind.Event)} AND status = {Of(StepStatus.Running)} AND completed_at IS NULL)
                OR (kind IN ({Of(StepKind.Step)}, {Of(StepKind.Event)}) AND status = {Of(StepStatus.Failed)} AND key = {stepParameter}))
        """;

    /// <summary>
    /// SQL run by a retry before <see cref="ReopenFailed"/>: the event taken by the failed wait it reopens (a payload that could
    /// not be read) is marked taken by that attempt (<c>consumed_by</c> becomes <c>{key}@{attempt}</c>; an event name has no
    /// <c>@</c>), so the wait's next attempt takes the next event instead of the same one again.
    /// </summary>
    public static string SpendFailedWaitEvent(string stepsTable, string eventsTable, string runIdParameter, string stepParameter) => $"""
        UPDATE {eventsTable} SET consumed_by = consumed_by || '@' || CAST((
                SELECT waited.attempts FROM {stepsTable} AS waited
                WHERE waited.run_id = {runIdParameter} AND waited.key = {stepParameter}) AS TEXT)
        WHERE run_id = {runIdParameter} AND consumed_by = {stepParameter}
            AND EXISTS (
                SELECT 1 FROM {stepsTable} AS waited
                WHERE waited.run_id = {runIdParameter} AND waited.key = {stepParameter}
                    AND waited.kind = {Of(StepKind.Event)} AND waited.status = {Of(StepStatus.Failed)})
        """;

    /// <summary>
    /// <see cref="UpdateRunRequest.WakesOn"/> as one text for a store without arrays: each name between spaces
    /// (<c>" a b "</c>; event names hold no space), matched by <c>instr(wakes_on, ' ' || name || ' ')</c>; null stays null.
    /// </summary>
    public static string? WakesOnText(IReadOnlyList<string>? names) =>
        names is null ? null : names.Count == 0 ? " " : " " + string.Join(' ', names) + " ";

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
