namespace Baton.Workflows;

/// <summary>The workflows registered on this node.</summary>
public interface IWorkflowCatalog
{
    IReadOnlyCollection<WorkflowDescriptor> Workflows { get; }

    bool TryGet(string name, out WorkflowDescriptor descriptor);
}

/// <summary>What the API shows of a registered workflow.</summary>
/// <param name="Name">The name it is started by.</param>
/// <param name="InputType">The .NET type its input is read into.</param>
/// <param name="ConcurrencyLimit">Active runs allowed per concurrency key, or null when it has no key.</param>
public sealed record WorkflowDescriptor(string Name, Type InputType, Type OutputType, string? Description, int? ConcurrencyLimit);
