using Baton.Retries;
using Baton.Steps;
using Baton.Workflows;

namespace Baton.CrashHost;

internal static class Work
{
    /// <summary>
    /// A step body: records its start, takes a moment (the window a kill can hit), records its end. A start past the
    /// host's <c>--hold-after</c> count never ends (until cancelled): the run is still mid-way when the test kills the
    /// process, however slowly the test polls.
    /// </summary>
    public static async Task<int> RecordAsync(EffectLog effects, string runId, string step, CancellationToken cancellationToken)
    {
        effects.Record(runId, step, "start");
        if (effects.StartPastHold())
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        }

        await Task.Delay(TimeSpan.FromMilliseconds(150), cancellationToken);
        effects.Record(runId, step, "done");
        return step.Length;
    }
}

/// <summary>Eight steps one after another.</summary>
internal sealed class SequentialWorkflow(EffectLog effects) : Workflow<int, int>
{
    public override async Task<int> RunAsync(IWorkflowContext context, int input, CancellationToken cancellationToken)
    {
        var total = 0;
        for (var i = 1; i <= 8; i++)
        {
            var name = $"step-{i}";
            total += await context.StepAsync(name, ct => Work.RecordAsync(effects, context.RunId, name, ct), cancellationToken: cancellationToken);
        }

        return total;
    }
}

/// <summary>Forty items, four at a time.</summary>
internal sealed class FanOutWorkflow(EffectLog effects) : Workflow<int, int>
{
    public override async Task<int> RunAsync(IWorkflowContext context, int input, CancellationToken cancellationToken)
    {
        var results = await context.ForEachAsync(
            "item",
            Enumerable.Range(1, 40).ToList(),
            i => i.ToString(System.Globalization.CultureInfo.InvariantCulture),
            (i, ct) => Work.RecordAsync(effects, context.RunId, $"item/{i}", ct),
            new ForEachOptions { MaxParallelism = 4 },
            cancellationToken: cancellationToken);
        return results.Count(r => r.Succeeded);
    }
}

/// <summary>Four steps with compensations, then a step that fails for good: compensation runs s4..s1.</summary>
internal sealed class SagaWorkflow(EffectLog effects) : Workflow<int, int>
{
    public override async Task<int> RunAsync(IWorkflowContext context, int input, CancellationToken cancellationToken)
    {
        for (var i = 1; i <= 4; i++)
        {
            var name = $"s{i}";
            await context.StepAsync(
                name,
                ct => Work.RecordAsync(effects, context.RunId, name, ct),
                compensate: async (_, ct) => await Work.RecordAsync(effects, context.RunId, $"undo-{name}", ct),
                cancellationToken: cancellationToken);
        }

        await context.StepAsync<int>("s5", _ => throw new NonRetryableException("downstream refused"), cancellationToken: cancellationToken);
        return 0;
    }
}

/// <summary>A step, a durable timer, a step: a kill during the wait must neither lose the timer nor repeat the first step.</summary>
internal abstract class TimerWorkflow(EffectLog effects, TimeSpan delay) : Workflow<int, int>
{
    public override async Task<int> RunAsync(IWorkflowContext context, int input, CancellationToken cancellationToken)
    {
        var before = await context.StepAsync("before", ct => Work.RecordAsync(effects, context.RunId, "before", ct), cancellationToken: cancellationToken);
        await context.DelayAsync("wait", delay, cancellationToken);
        var after = await context.StepAsync("after", ct => Work.RecordAsync(effects, context.RunId, "after", ct), cancellationToken: cancellationToken);
        return before + after;
    }
}

/// <summary>4 s, under the 5 s suspend threshold: the run waits in memory, holding its lease.</summary>
internal sealed class ShortTimerWorkflow(EffectLog effects) : TimerWorkflow(effects, TimeSpan.FromSeconds(4));

/// <summary>6 s, over the 5 s suspend threshold: the run is suspended in the store until the wake-up time.</summary>
internal sealed class LongTimerWorkflow(EffectLog effects) : TimerWorkflow(effects, TimeSpan.FromSeconds(6));

/// <summary>
/// A step, a wait for the event <c>approved</c> (no timeout: the run suspends), a step named after the payload: a kill
/// during the wait must neither lose the wait nor repeat the first step, and the event sent after the restart resumes it.
/// </summary>
internal sealed class EventWaitWorkflow(EffectLog effects) : Workflow<int, int>
{
    public override async Task<int> RunAsync(IWorkflowContext context, int input, CancellationToken cancellationToken)
    {
        var before = await context.StepAsync("before", ct => Work.RecordAsync(effects, context.RunId, "before", ct), cancellationToken: cancellationToken);
        var by = await context.WaitForEventAsync<string>("approved", cancellationToken: cancellationToken);
        var after = await context.StepAsync("after", ct => Work.RecordAsync(effects, context.RunId, "after-" + by, ct), cancellationToken: cancellationToken);
        return before + after;
    }
}

/// <summary>
/// A step, a wait for the event <c>approved</c> with a 1 s timeout that the workflow catches, and a step named after the
/// branch taken. The host stores a step's start only after 25 s for this scenario, so a kill after the timeout is stored
/// lands before anything of the next step is: the resumed run must take the timeout branch again, not wait anew and take
/// an event sent after the restart.
/// </summary>
internal sealed class EventTimeoutWorkflow(EffectLog effects) : Workflow<int, string>
{
    public override async Task<string> RunAsync(IWorkflowContext context, int input, CancellationToken cancellationToken)
    {
        await context.StepAsync("before", ct => Work.RecordAsync(effects, context.RunId, "before", ct), cancellationToken: cancellationToken);
        string by;
        try
        {
            by = await context.WaitForEventAsync<string>("approved", TimeSpan.FromSeconds(1), cancellationToken);
        }
        catch (Events.EventTimeoutException)
        {
            by = "timeout";
        }

        await context.StepAsync("after", ct => Work.RecordAsync(effects, context.RunId, "after-" + by, ct), cancellationToken: cancellationToken);
        return by;
    }
}

/// <summary>
/// A step, an awaited child run of <c>child-waits</c> (which waits for the event <c>approved</c>, so the parent
/// suspends), a step named after the child's output: a kill while the parent waits must neither start a second child
/// nor repeat the first step, and the child's end after the restart resumes the parent.
/// </summary>
internal sealed class ChildParentWorkflow(EffectLog effects) : Workflow<int, int>
{
    public override async Task<int> RunAsync(IWorkflowContext context, int input, CancellationToken cancellationToken)
    {
        var before = await context.StepAsync("before", ct => Work.RecordAsync(effects, context.RunId, "before", ct), cancellationToken: cancellationToken);
        var by = await context.RunChildAsync<string>("child-waits", 0, cancellationToken: cancellationToken);
        var after = await context.StepAsync("after", ct => Work.RecordAsync(effects, context.RunId, "after-" + by, ct), cancellationToken: cancellationToken);
        return before + after;
    }
}

/// <summary>The child of <see cref="ChildParentWorkflow"/>: returns the payload of the event <c>approved</c>.</summary>
internal sealed class ChildWaitsWorkflow : Workflow<int, string>
{
    public override Task<string> RunAsync(IWorkflowContext context, int input, CancellationToken cancellationToken) =>
        context.WaitForEventAsync<string>("approved", cancellationToken: cancellationToken);
}

/// <summary>
/// A step, a step whose first attempt fails and backs off about 6 s (over the 1 s retry suspend threshold: the run
/// is suspended until the next attempt is due), a step: a kill during the backoff must neither run the next attempt
/// early nor repeat an attempt or the first step.
/// </summary>
public sealed class RetryWaitWorkflow(EffectLog effects) : Workflow<int, int>
{
    public static readonly RetryPolicy Policy = new() { MaxAttempts = 3, BaseDelay = TimeSpan.FromSeconds(6), MaxDelay = TimeSpan.FromMinutes(1), JitterFactor = 0.2 };

    public override async Task<int> RunAsync(IWorkflowContext context, int input, CancellationToken cancellationToken)
    {
        var before = await context.StepAsync("before", ct => Work.RecordAsync(effects, context.RunId, "before", ct), cancellationToken: cancellationToken);
        var flaky = await context.StepAsync("flaky", ct => FlakyAsync(context.RunId, ct), new StepOptions { Retry = Policy }, cancellationToken: cancellationToken);
        var after = await context.StepAsync("after", ct => Work.RecordAsync(effects, context.RunId, "after", ct), cancellationToken: cancellationToken);
        return before + flaky + after;
    }

    private Task<int> FlakyAsync(string runId, CancellationToken cancellationToken)
    {
        effects.Record(runId, "flaky", "start");
        if (effects.Count("start").GetValueOrDefault("flaky") < 2)
        {
            throw new HttpRequestException("503 on the first attempt");
        }

        return Work.RecordAsync(effects, runId, "flaky-done", cancellationToken);
    }
}

/// <summary>
/// One step, then plain workflow code that holds past the host's <c>--hold-after</c> count: the step's end is held for
/// the run's final write, so a kill there finds the step's body done but its end not stored (it must run again).
/// </summary>
internal sealed class HeldEndWorkflow(EffectLog effects) : Workflow<int, int>
{
    public override async Task<int> RunAsync(IWorkflowContext context, int input, CancellationToken cancellationToken)
    {
        var value = await context.StepAsync("only", ct => Work.RecordAsync(effects, context.RunId, "only", ct), cancellationToken: cancellationToken);
        effects.Record(context.RunId, "after-only", "reached");
        if (effects.StartPastHold())
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        }

        return value;
    }
}
