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
    /// SQL run by a retry that makes the run pending again: the event waits of run <paramref name="runIdParameter"/> that
    /// timed out and ended the run (no other step began at or after the timeout) become running again, so the retried
    /// run waits for the event anew. A timeout the workflow went on from stays failed, and a resumed run gets it again.
    /// </summary>
    public static string ReopenTimedOutWaits(string stepsTable, string runIdParameter) => $"""
        UPDATE {stepsTable} AS waited SET status = {Of(StepStatus.Running)}
        WHERE run_id = {runIdParameter} AND kind = {Of(StepKind.Event)} AND status = {Of(StepStatus.Failed)}
            AND NOT EXISTS (
                SELECT 1 FROM {stepsTable} AS later
                WHERE later.run_id = {runIdParameter} AND later.key <> waited.key AND later.started_at >= waited.completed_at)
        """;

    /// <summary>The stored number of <paramref name="value"/> as SQL text.</summary>
    public static string Of<TEnum>(TEnum value)
        where TEnum : struct, Enum =>
        Convert.ToInt32(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
}
