using Baton.Steps;

namespace Baton.Workflows;

/// <summary>
/// What a workflow uses to do durable work. Workflow code must be deterministic between steps: on
/// resume it runs again from the top, and completed steps return their stored results instead of
/// running. Everything with a side effect goes inside a step.
/// </summary>
public interface IWorkflowContext
{
    string RunId { get; }

    string WorkflowName { get; }

    /// <summary>The correlation id the run was started with (for example the HTTP request's <c>X-Correlation-ID</c>), or null.</summary>
    string? CorrelationId { get; }

    /// <summary>How many times this run has been claimed by a worker (1 on its first execution).</summary>
    int Execution { get; }

    /// <summary>
    /// Runs <paramref name="work"/> as a durable step named <paramref name="name"/> (a name used twice gets
    /// <c>#2</c>, <c>#3</c> appended). The result is stored as JSON; when the run resumes a completed step
    /// returns it without running. Failed attempts are retried by the retry policy; each attempt gets a token
    /// cancelled on its timeout, on run cancellation and on shutdown. If <paramref name="compensate"/> is set
    /// and the run later fails or is cancelled, it runs with the step's result, in reverse step order.
    /// </summary>
    Task<T> StepAsync<T>(
        string name,
        Func<CancellationToken, Task<T>> work,
        StepOptions? options = null,
        Func<T, CancellationToken, Task>? compensate = null,
        CancellationToken cancellationToken = default);

    /// <summary>A step with no result.</summary>
    Task StepAsync(
        string name,
        Func<CancellationToken, Task> work,
        StepOptions? options = null,
        Func<CancellationToken, Task>? compensate = null,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs <paramref name="work"/> for each item as a durable step keyed <c>{name}/{key}</c>, at most
    /// <see cref="ForEachOptions.MaxParallelism"/> at once. Items completed in an earlier execution are not
    /// run again. Progress counters <c>{name}.total</c>, <c>{name}.done</c> and <c>{name}.deadLettered</c>
    /// are kept as items finish. Results come back in item order.
    /// </summary>
    Task<IReadOnlyList<ItemResult<TResult>>> ForEachAsync<TItem, TResult>(
        string name,
        IReadOnlyList<TItem> items,
        Func<TItem, string> keySelector,
        Func<TItem, CancellationToken, Task<TResult>> work,
        ForEachOptions? options = null,
        Func<TItem, TResult, CancellationToken, Task>? compensate = null,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// The same for items that arrive over time (e.g. chunks of a file still downloading): each item starts as
    /// soon as it is listed and a slot is free. Keys must be unique and stable: an execution that resumes lists
    /// the items again and skips those completed. <c>{name}.total</c> grows as items are listed. If listing
    /// throws, the items started are cancelled and the error goes up.
    /// </summary>
    Task<IReadOnlyList<ItemResult<TResult>>> ForEachAsync<TItem, TResult>(
        string name,
        IAsyncEnumerable<TItem> items,
        Func<TItem, string> keySelector,
        Func<TItem, CancellationToken, Task<TResult>> work,
        ForEachOptions? options = null,
        Func<TItem, TResult, CancellationToken, Task>? compensate = null,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether this run takes the path of the code change <paramref name="changeId"/>: true for a run that reaches this
    /// call on code that has the change, false for a run that had already stored steps past this point before the change
    /// was deployed. The answer is stored the first time the run reaches the call (a <c>patch</c> step), so it never
    /// changes for the run. See the engine guide's "Versioning" section for the exact rule.
    /// </summary>
    Task<bool> IsPatchedAsync(string changeId, CancellationToken cancellationToken = default);

    /// <summary>A durable timer: waits <paramref name="delay"/> from the first time it is reached, across restarts.</summary>
    Task DelayAsync(string name, TimeSpan delay, CancellationToken cancellationToken = default);

    /// <summary>A durable timer that waits until <paramref name="until"/>.</summary>
    Task SleepUntilAsync(string name, DateTimeOffset until, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits durably for an external event named <paramref name="name"/> (sent with
    /// <see cref="Runs.IBatonClient.SendEventAsync"/> or <c>POST /api/runs/{id}/events/{name}</c>) and returns its
    /// payload read as <typeparamref name="T"/>. An event sent before the wait is reached is kept for it; events of one
    /// name are taken once each, oldest first. While no event is there the run suspends and gives its lease and slot
    /// back; any node resumes it when the event is stored. The payload is recorded like a step result, so a resumed
    /// run gets the same one. <paramref name="timeout"/> counts from the first time the wait is reached (across
    /// restarts); when it passes with no event, <see cref="Events.EventTimeoutException"/> is thrown (and thrown again
    /// at this wait on resume). The default is no timeout.
    /// </summary>
    Task<T> WaitForEventAsync<T>(string name, TimeSpan? timeout = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts a run of <paramref name="workflowName"/> with <paramref name="input"/> as a child of this run and waits
    /// for it to end, returning its output read as <typeparamref name="TOutput"/>. The child is started once: its
    /// idempotency key comes from this run's id and the call site (the step key <c>child:{workflow}</c>, then
    /// <c>#2</c>...), so a resumed run finds the same child. While the child runs this run suspends and gives its lease
    /// and slot back; the child's end makes it due at once, on any node. A child that fails, is cancelled or is
    /// compensated throws <see cref="Children.ChildRunFailedException"/> here (and again at this call on resume).
    /// Cancelling this run cancels its active children. The child's workflow must be registered on this node.
    /// </summary>
    Task<TOutput> RunChildAsync<TOutput>(string workflowName, object? input, Children.ChildRunOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="RunChildAsync{TOutput}(string, object?, Children.ChildRunOptions?, CancellationToken)"/> with a typed
    /// input: the child's input is <paramref name="input"/> serialized as <typeparamref name="TInput"/>.
    /// </summary>
    Task<TOutput> RunChildAsync<TInput, TOutput>(string workflowName, TInput input, Children.ChildRunOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts one child run of <paramref name="workflowName"/> per input (each a <c>RunChildAsync</c> call site, in order) and
    /// waits until every one has ended; returns their outputs in the inputs' order. If any failed, throws the first failed
    /// one's <see cref="Children.ChildRunFailedException"/> naming the others in <see cref="Children.ChildRunFailedException.AlsoFailed"/>,
    /// and a retry of a run that failed with it retries every failed child of the call at once. Unlike <c>Task.WhenAll</c>
    /// over <c>RunChildAsync</c>, a child's failure does not end the run while the others still run.
    /// </summary>
    Task<IReadOnlyList<TOutput>> RunChildrenAsync<TInput, TOutput>(string workflowName, IEnumerable<TInput> inputs, Children.ChildRunOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Sets the phase shown in the run's status (e.g. <c>fetching</c>).</summary>
    void SetPhase(string phase);

    /// <summary>Adds <paramref name="delta"/> to a progress counter.</summary>
    void IncrementProgress(string counter, long delta = 1);

    /// <summary>Sets a progress counter.</summary>
    void SetProgress(string counter, long value);

    /// <summary>Adds to the run's bounded error list (the oldest are dropped past the bound).</summary>
    void ReportError(string message, string? step = null);
}
