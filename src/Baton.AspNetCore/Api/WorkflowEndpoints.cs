using Baton.Workflows;

namespace Baton.Server.Api;

internal static class WorkflowEndpoints
{
    public static void Map(IEndpointRouteBuilder routes) =>
        routes.MapGet("/api/workflows", (IWorkflowCatalog catalog, HttpContext context) =>
                TypedResults.Ok(catalog.Workflows.OrderBy(w => w.Name, StringComparer.Ordinal).Select(w => w.ToView(context.Request.PathBase)).ToList()))
            .WithTags("Workflows")
            .WithName("ListWorkflows")
            .WithSummary("The workflows registered on this node");
}
