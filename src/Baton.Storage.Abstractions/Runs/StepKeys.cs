namespace Baton.Runs;

/// <summary>
/// Step keys the engine derives from other keys. The compensation of step <c>s</c> is stored as the
/// <see cref="StepKind.Compensation"/> step <c>compensate:s</c>, so a crash mid-compensation finds it again.
/// </summary>
public static class StepKeys
{
    /// <summary>The prefix of a compensation's step key.</summary>
    public const string CompensationPrefix = "compensate:";

    /// <summary>The key of the compensation of <paramref name="stepKey"/>.</summary>
    public static string Compensation(string stepKey) => CompensationPrefix + stepKey;

    /// <summary>The step a compensation key compensates, or the key itself when it is not a compensation's.</summary>
    public static string CompensatedStep(string stepKey) =>
        stepKey.StartsWith(CompensationPrefix, StringComparison.Ordinal) ? stepKey[CompensationPrefix.Length..] : stepKey;
}
