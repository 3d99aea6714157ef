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

    /// <summary>Set when the guard before <c>createAccount</c> removed an account whose create reply was lost.</summary>
    public const string LostAccountRemovedCounter = "saga.lostAccountRemoved";

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
        var compensated = executedSteps.Where(shape.Compensable.Contains).Reverse().ToList();
        if (executed == 0 && run.Progress.ContainsKey(LostAccountRemovedCounter))
        {
            // createAccount's reply never came, but the account had been made: it was removed.
            compensated = ["createAccount"];
        }
        else if (executed == 0 && state == "compensated")
        {
            // Only the guard before createAccount ran, and it found nothing to undo: as the saga was before the guard.
            state = run.Status == RunStatus.Cancelled ? "cancelled" : "failed";
        }

        // The guard's undo is createAccount's, as far as a caller is concerned.
        var compensationStep = failure?.CompensationStep == CreateDoctorSaga.GuardStep ? "createAccount" : failure?.CompensationStep;
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
