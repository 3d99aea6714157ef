using System.Text.Json;
using System.Text.Json.Nodes;
using Baton.Runs;

namespace Baton.Apps.DoctorOnboarding.Saga;

/// <summary>
/// The error reply of a saga that did not complete, in the seed's shape:
/// <c>{"message":"&lt;root cause&gt;","details":{"saga":{"step":"createProfile","state":"compensated"}},"sagaId",
/// "executedSteps","compensatedSteps","durationMs"}</c>. Built from the run alone: a saga's steps are a fixed sequence,
/// the run records how many completed (progress counter <see cref="ExecutedCounter"/>), the engine records the failed
/// step, the saga state and the compensation that failed.
/// </summary>
public static class SagaReplies
{
    public const string ExecutedCounter = "saga.executed";

    /// <summary>
    /// Set (to 1) when a guard's undo changed something for <paramref name="step"/>, a step that did not end (its reply lost
    /// to a timeout or a cancel): the reply lists it as compensated.
    /// </summary>
    public static string UndoneCounter(string step) => "saga.undone." + step;

    /// <summary>
    /// Set (to 1) when a step with an undo had nothing to change (an update without that part, a delete of a doctor without
    /// a profile): its undo calls nothing, so the reply does not list it as compensated.
    /// </summary>
    public static string SkippedCounter(string step) => "saga.skipped." + step;

    /// <summary>The saga step a guard step stands before: its undo is that step's, as far as a caller is concerned.</summary>
    private static readonly Dictionary<string, string> Guards = new(StringComparer.Ordinal)
    {
        [CreateDoctorSaga.GuardStep] = "createAccount",
        ["guardUpdateAccount"] = "updateAccount",
        ["guardUpdateProfile"] = "updateProfile",
        ["guardRemoveProfile"] = "removeProfile",
    };

    /// <summary>The name of the guard step before <paramref name="step"/>.</summary>
    internal static string GuardOf(string step) => Guards.Single(g => g.Value == step).Key;

    private static readonly Dictionary<string, SagaShape> Shapes = new(StringComparer.Ordinal)
    {
        [CreateDoctorSaga.Name] = new(["createAccount", "createProfile", "assignPermissions"], ["createAccount", "createProfile"]),
        [UpdateDoctorSaga.Name] = new(["loadDoctor", "updateAccount", "updateProfile"], ["updateAccount", "updateProfile"]),
        [DeleteDoctorSaga.Name] = new(["loadDoctor", "removeProfile", "removeAccount"], ["removeProfile"]),
    };

    /// <summary>The steps of a saga workflow, in order.</summary>
    public static IReadOnlyList<string> StepsOf(string workflow) => Shapes[workflow].Steps;

    /// <summary>The <c>err</c> for a saga run that failed, was compensated, or whose compensation failed.</summary>
    public static JsonElement Error(RunInfo run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var shape = Shapes.TryGetValue(run.Workflow, out var known) ? known : new SagaShape([], []);
        var failure = run.Failure;
        var executed = (int)Math.Clamp(run.Progress.TryGetValue(ExecutedCounter, out var count) ? count : 0, 0, shape.Steps.Count);
        var failedStep = failure?.Step is { } step && shape.Steps.Contains(step) ? step
            : executed < shape.Steps.Count ? shape.Steps[executed]
            : failure?.Step;
        var executedSteps = shape.Steps.Take(executed).ToList();
        var state = failure?.SagaState ?? (run.Status == RunStatus.Cancelled ? "cancelled" : "failed");
        // A step whose reply was lost, undone by its guard, runs first in the undo: it came after the executed ones.
        var undone = shape.Steps.Skip(executed).Where(s => run.Progress.ContainsKey(UndoneCounter(s))).Reverse();
        // A step that changed nothing is not listed (before: an update of the profile alone, refused, answered
        // compensatedSteps ["updateAccount"], though no account call was made or undone).
        List<string> compensated = [.. undone, .. executedSteps.Where(s => shape.Compensable.Contains(s) && !run.Progress.ContainsKey(SkippedCounter(s))).Reverse()];
        if (compensated.Count == 0 && state == "compensated")
        {
            // Only guards ran, and found nothing to undo: the saga as it was before the guards (a createAccount refused).
            state = run.Status == RunStatus.Cancelled ? "cancelled" : "failed";
        }

        var compensationStep = failure?.CompensationStep is { } named && Guards.TryGetValue(named, out var guarded) ? guarded : failure?.CompensationStep;
        if (state == "compensation_failed" && compensationStep is { } broken)
        {
            compensated = [.. compensated.TakeWhile(s => s != broken)];
        }
        else if (state != "compensated")
        {
            compensated = [];
        }

        var reply = new JsonObject
        {
            ["message"] = failure?.Message ?? $"saga ended {run.Status}",
            ["details"] = new JsonObject
            {
                ["saga"] = new JsonObject { ["step"] = failedStep, ["state"] = state },
            },
            ["sagaId"] = run.Id,
            ["executedSteps"] = new JsonArray([.. executedSteps.Select(s => (JsonNode?)JsonValue.Create(s))]),
            ["compensatedSteps"] = new JsonArray([.. compensated.Select(s => (JsonNode?)JsonValue.Create(s))]),
            ["durationMs"] = Math.Max(0, (long)((run.CompletedAt ?? run.UpdatedAt) - run.CreatedAt).TotalMilliseconds),
        };
        if (state == "compensation_failed" && compensationStep is { } failedCompensation)
        {
            reply["details"]!["saga"]!["compensationStep"] = failedCompensation;
        }

        return JsonSerializer.SerializeToElement(reply);
    }

    private sealed record SagaShape(IReadOnlyList<string> Steps, IReadOnlyList<string> Compensable);
}
