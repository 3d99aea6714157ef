namespace Baton.Children;

/// <summary>How <see cref="Workflows.IWorkflowContext.RunChildAsync{TOutput}(string, object?, ChildRunOptions?, CancellationToken)"/> starts a child run.</summary>
public sealed class ChildRunOptions
{
    /// <summary>The child's correlation id. The default is the parent's.</summary>
    public string? CorrelationId { get; init; }

    /// <summary>Overrides the concurrency key the child's workflow derives from its input. The default is none.</summary>
    public string? ConcurrencyKey { get; init; }
}
