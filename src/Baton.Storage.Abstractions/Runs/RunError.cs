namespace Baton.Runs;

/// <summary>One entry of a run's bounded error list.</summary>
public sealed record RunError(DateTimeOffset At, string Message, string? Step = null);
