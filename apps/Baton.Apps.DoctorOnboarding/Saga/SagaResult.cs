namespace Baton.Apps.DoctorOnboarding.Saga;

/// <summary>
/// The reply of a saga that completed: <c>{"sagaId","status":"completed","accountId","profileId","executedSteps",
/// "compensatedSteps":[],"durationMs"}</c> (the seed gives only the failure's shape; this one mirrors it).
/// </summary>
public sealed record SagaResult
{
    public required string SagaId { get; init; }
    public string Status { get; init; } = "completed";
    public required string AccountId { get; init; }
    public string? ProfileId { get; init; }
    public required IReadOnlyList<string> ExecutedSteps { get; init; }
    public IReadOnlyList<string> CompensatedSteps { get; init; } = [];
    public long DurationMs { get; init; }
}
