namespace Baton.Workflows;

/// <summary>
/// Marks a workflow type for <see cref="Hosting.BatonBuilder.AddWorkflow{TWorkflow}"/>. Derive from
/// <see cref="Workflow{TInput, TOutput}"/> rather than implementing it: the registration reads the input
/// and output types from that base class.
/// </summary>
#pragma warning disable CA1040 // a marker: it lets AddWorkflow<TWorkflow> take one type argument
public interface IWorkflow;
#pragma warning restore CA1040

/// <summary>
/// A workflow: plain async code registered under a name. Instances are created per execution from
/// the service provider, so dependencies come in through the constructor.
/// </summary>
public abstract class Workflow<TInput, TOutput> : IWorkflow
{
    public abstract Task<TOutput> RunAsync(IWorkflowContext context, TInput input, CancellationToken cancellationToken);
}

/// <summary>How a workflow's runs behave.</summary>
public sealed class WorkflowOptions
{
    public string? Description { get; set; }

    /// <summary>The default retry policy of its steps. The default is <see cref="Retries.RetryPolicy.Default"/>.</summary>
    public Retries.RetryPolicy Retry { get; set; } = Retries.RetryPolicy.Default;

    /// <summary>The default per-attempt timeout of its steps. The default is none.</summary>
    public TimeSpan? StepTimeout { get; set; }

    /// <summary>
    /// Time limit of a whole run, counted from its creation (time spent queued or waiting counts; a suspended run wakes at
    /// the limit to fail). A retry counts it again from the retry. The default is none.
    /// </summary>
    public TimeSpan? RunTimeout { get; set; }

    /// <summary>
    /// A fixed concurrency key for every run of the workflow; with <see cref="ConcurrencyLimit"/> 1 the
    /// workflow is a singleton and a second start while one is active is refused.
    /// </summary>
    public string? ConcurrencyKey { get; set; }

    /// <summary>Active runs allowed per concurrency key. The default is 1.</summary>
    public int ConcurrencyLimit { get; set; } = 1;

    /// <summary>
    /// The version of this workflow's code (at least 1). Each run records the version that started it, and a node
    /// claims only runs of versions it has registered (this one and <see cref="ResumesVersions"/>). The default is 1.
    /// </summary>
    public int Version { get; set; } = 1;

    /// <summary>
    /// Older versions whose in-flight runs this code can also resume (each at least 1, below <see cref="Version"/>),
    /// for example <c>[1]</c> when version 2 only adds patches guarded by <c>IsPatched</c>. The default is none.
    /// </summary>
    public IReadOnlyList<int> ResumesVersions { get; set; } = [];

    /// <summary>The selector set by <see cref="ConcurrencyKeyFrom{TInput}"/>, checked against the input type at registration.</summary>
    internal Delegate? ConcurrencyKeySelector { get; private set; }

    /// <summary>
    /// Derives the concurrency key from the typed input (overrides <see cref="ConcurrencyKey"/>); a null key
    /// leaves the run unlimited. <typeparamref name="TInput"/> is the workflow's input type (or a base of it):
    /// registration fails with an <see cref="ArgumentException"/> otherwise.
    /// </summary>
    public WorkflowOptions ConcurrencyKeyFrom<TInput>(Func<TInput, string?> selector)
    {
        ArgumentNullException.ThrowIfNull(selector);
        ConcurrencyKeySelector = selector;
        return this;
    }
}
