namespace Baton.Runs;

public enum StepKind
{
    Step = 0,
    /// <summary>A durable timer; its result is the wake-up time.</summary>
    Timer = 1,
    /// <summary>The compensation of a completed step; its key is <see cref="StepKeys.Compensation"/> of the step's.</summary>
    Compensation = 2,
    /// <summary>A wait for an external event; its result is the event's payload, its start the time the wait began.</summary>
    Event = 3,
    /// <summary>An awaited child run; its result is the child's output, its start the time the child was started.</summary>
    Child = 4,
    /// <summary>A patch marker (<c>IsPatched</c>); its result is whether the run took the patched path (JSON true or false).</summary>
    Patch = 5,
}

public enum StepStatus
{
    Running = 0,
    Succeeded = 1,
    Failed = 2,
    /// <summary>A fan-out item that failed for good and was set aside; the run went on.</summary>
    DeadLettered = 3,
}

public enum AttemptOutcome
{
    Running = 0,
    Succeeded = 1,
    Failed = 2,
    TimedOut = 3,
    Cancelled = 4,
    /// <summary>The worker shut down or lost its lease while the attempt ran.</summary>
    Interrupted = 5,
}
