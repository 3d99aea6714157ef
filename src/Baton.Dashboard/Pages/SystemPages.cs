using Baton.Dashboard.Components;
using Baton.Nodes;
using Baton.Runs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Baton.Dashboard.Pages;

/// <summary>The nodes page and the apps' pages.</summary>
internal static class SystemPages
{
    /// <summary>The catalog sync app's workflow name (the dashboard reads its runs; it does not reference the app).</summary>
    public const string CatalogSyncWorkflow = "catalog-sync";

    public static void Map(RouteGroupBuilder ui)
    {
        ui.MapGet("/nodes", async (HttpContext http, IBatonNodes nodes, TimeProvider time) =>
            PageResults.Render<NodesPage>(http, new NodesModel(await nodes.ListLiveNodesAsync(http.RequestAborted), nodes.NodeId, nodes.LiveWindow, time.GetUtcNow())));

        ui.MapGet("/apps/catalog-sync", async (HttpContext http, IBatonClient client, TimeProvider time) =>
        {
            var latest = await client.ListRunsAsync(new ListRunsRequest { Workflow = CatalogSyncWorkflow, Limit = 10 }, http.RequestAborted);
            var current = latest.Runs.Count > 0 ? latest.Runs[0] : null;
            var now = time.GetUtcNow();
            return PageResults.Render<CatalogSyncPage>(http, new CatalogSyncModel(
                current, current is null ? [] : ProgressBar.From(current, now), latest.Runs, now));
        });
    }
}

public sealed record NodesModel(IReadOnlyList<Storage.NodeRecord> Nodes, string ThisNode, TimeSpan LiveWindow, DateTimeOffset Now);

public sealed record CatalogSyncModel(RunInfo? Current, IReadOnlyList<ProgressBar> Bars, IReadOnlyList<RunInfo> Recent, DateTimeOffset Now);
