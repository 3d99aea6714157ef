using System.Text.Json;
using Baton.Events;
using Baton.Hosting;
using Baton.Retries;
using Baton.Steps;
using Baton.Workflows;

namespace Baton.Samples.Demo;

/// <summary>
/// Input of the <c>demo</c> workflow. Every field is optional. Out-of-range values are refused while the
/// input is read, so a bad start is a 400 and nothing is stored.
/// </summary>
public sealed record DemoInput
{
    /// <summary>Items processed by the fan-out (1-1000). The default is 20.</summary>
    public int Items { get; init => field = InRange(value, 1, 1000, "items"); } = 20;

    /// <summary>Simulated work per item and per step, in milliseconds (0-60000). The default is 500.</summary>
    public int DelayMs { get; init => field = InRange(value, 0, 60_000, "delayMs"); } = 500;

    /// <summary>Items processed at once (1-32). The default is 4.</summary>
    public int Parallelism { get; init => field = InRange(value, 1, 32, "parallelism"); } = 4;

    /// <summary>Runs sharing a group are a singleton: a second start while one is active is refused (409). The default is none.</summary>
    public string? Group { get; init; }

    /// <summary>
    /// An event name: after summarizing, the run waits (suspended, holding no worker) for an event of that name sent
    /// with <c>POST /api/runs/{id}/events/{name}</c>, and puts its payload in the output. The default is none.
    /// </summary>
    public string? WaitFor { get; init => field = value is null || EventNames.Validate(value) is null ? value : throw new ArgumentException($"waitFor: {EventNames.Validate(value)}"); }

    /// <summary>Makes the last step fail for good, to show a failed run and retry. The default is false.</summary>
    public bool Fail { get; init; }

    private static int InRange(int value, int min, int max, string name) =>
        value >= min && value <= max ? value : throw new ArgumentException($"{name} must be from {min} to {max}, not {value}");
}

public sealed record DemoOutput(int Items, long Sum, string Summary)
{
    /// <summary>The payload of the event the run waited for (input <c>waitFor</c>), or null.</summary>
    public JsonElement? Event { get; init; }
}

/// <summary>
/// The <c>demo</c> workflow: prepares a list of items, squares each one in a durable fan-out
/// (progress counters <c>items.total</c> and <c>items.done</c> move as items finish), then sums them.
/// Phases: <c>preparing</c>, <c>processing</c>, <c>summarizing</c>, (with <c>waitFor</c>) <c>waiting for {event}</c>, <c>done</c>. Every wait goes through the injected
/// <see cref="TimeProvider"/>, so it is the engine's clock that paces it.
/// </summary>
internal sealed class DemoWorkflow(TimeProvider time) : Workflow<DemoInput, DemoOutput>
{
    public const string Name = "demo";

    public override async Task<DemoOutput> RunAsync(IWorkflowContext context, DemoInput input, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(input.DelayMs);

        context.SetPhase("preparing");
        var items = await context.StepAsync(
            "prepare",
            async ct =>
            {
                await Task.Delay(delay, time, ct);
                return Enumerable.Range(1, input.Items).ToList();
            },
            cancellationToken: cancellationToken);

        context.SetPhase("processing");
        var results = await context.ForEachAsync(
            "items",
            items,
            item => item.ToString(System.Globalization.CultureInfo.InvariantCulture),
            async (item, ct) =>
            {
                await Task.Delay(delay, time, ct);
                return (long)item * item;
            },
            new ForEachOptions { MaxParallelism = input.Parallelism },
            cancellationToken: cancellationToken);

        context.SetPhase("summarizing");
        var sum = await context.StepAsync(
            "summarize",
            async ct =>
            {
                await Task.Delay(delay, time, ct);
                if (input.Fail)
                {
                    throw new NonRetryableException("the demo was asked to fail (input.fail = true)");
                }

                return results.Sum(r => r.Value);
            },
            cancellationToken: cancellationToken);
        JsonElement? received = null;
        if (input.WaitFor is { } eventName)
        {
            context.SetPhase("waiting for " + eventName);
            received = await context.WaitForEventAsync<JsonElement>(eventName, cancellationToken: cancellationToken);
        }

        context.SetPhase("done");
        return new DemoOutput(items.Count, sum, $"squared {items.Count} items; the squares add up to {sum}") { Event = received };
    }
}
