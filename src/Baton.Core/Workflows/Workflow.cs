namespace Baton.Workflows;

/// <summary>
/// A workflow: plain async code registered under a name. Instances are created per execution from
/// the service provider, so dependencies come in through the constructor.
/// </summary>
public abstract class Workflow<TInput, TOutput>
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

    /// <summary>Time limit of a whole run, counted from its start. The default is none.</summary>
    public TimeSpan? RunTimeout { get; set; }

    /// <summary>
    /// A fixed concurrency key for every run of the workflow; with <see cref="ConcurrencyLimit"/> 1 the
    /// workflow is a singleton and a second start while one is active is refused.
    /// </summary>
    public string? ConcurrencyKey { get; set; }

    /// <summary>Derives the concurrency key from the typed input (overrides <see cref="ConcurrencyKey"/>).</summary>
    public Func<object?, string?>? ConcurrencyKeySelector { get; set; }

    /// <summary>Active runs allowed per concurrency key. The default is 1.</summary>
    public int ConcurrencyLimit { get; set; } = 1;
}
