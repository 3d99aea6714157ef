namespace Baton.Compensation;

/// <summary>
/// Unwinds a workflow replayed only to collect the compensations of its completed steps: thrown at the
/// first step that had not completed. Workflow code should not catch it.
/// </summary>
internal sealed class CompensationReplayStop() : Exception("compensation replay reached the first incomplete step");
