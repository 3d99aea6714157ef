using Baton.Workflows;

namespace Baton.Server.Api;

internal static class WorkflowEndpoints
{
    public static void Map(IEndpointRouteBuilder routes) =>
        routes.MapGet("/api/workflows", (IWorkflowCatalog catalog) =>
                TypedResults.Ok(catalog.Workflows.OrderBy(w => w.Name, StringComparer.Ordinal).Select(w => w.ToView()).ToList()))
            .WithTags("Workflows")
            .WithName("ListWorkflows")
            .WithSummary("The workflows registered on this node");
}
