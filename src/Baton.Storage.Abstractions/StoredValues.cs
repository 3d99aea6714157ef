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

    /// <summary>The stored number of <paramref name="value"/> as SQL text.</summary>
    public static string Of<TEnum>(TEnum value)
        where TEnum : struct, Enum =>
        Convert.ToInt32(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
}
