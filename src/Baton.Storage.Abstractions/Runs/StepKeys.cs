namespace Baton.Runs;

/// <summary>
/// Step keys the engine derives from other keys. The compensation of step <c>s</c> is stored as the
/// <see cref="StepKind.Compensation"/> step <c>compensate:s</c>, so a crash mid-compensation finds it again.
/// </summary>
public static class StepKeys
{
    /// <summary>The prefix of a compensation's step key.</summary>
    public const string CompensationPrefix = "compensate:";

    /// <summary>
    /// The prefixes of the keys the engine gives its own steps: compensations, event waits, child runs and patch markers.
    /// A step, timer or fan-out named with one would be taken for that step (a step named <c>compensate:reserve</c> stood in
    /// for the compensation of <c>reserve</c>, which then never ran).
    /// </summary>
    public static readonly IReadOnlyList<string> ReservedPrefixes = [CompensationPrefix, "event:", "child:", "patch:"];

    /// <summary>Null when a workflow may name a step, timer or fan-out <paramref name="name"/>, otherwise why not.</summary>
    public static string? ReservedNameProblem(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var prefix in ReservedPrefixes)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                return $"a step name cannot begin with '{prefix}' ('{name}'): the engine keys its own steps so ({string.Join(", ", ReservedPrefixes)})";
            }
        }

        return null;
    }

    /// <summary>The key of the compensation of <paramref name="stepKey"/>.</summary>
    public static string Compensation(string stepKey) => CompensationPrefix + stepKey;

    /// <summary>The step a compensation key compensates, or the key itself when it is not a compensation's.</summary>
    public static string CompensatedStep(string stepKey) =>
        stepKey.StartsWith(CompensationPrefix, StringComparison.Ordinal) ? stepKey[CompensationPrefix.Length..] : stepKey;
}
