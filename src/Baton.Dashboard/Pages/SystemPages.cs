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

    /// <summary>The review gateway app's forwarding workflow (one run per accepted job).</summary>
    public const string ReviewForwardWorkflow = "review-forward";

    public static void Map(RouteGroupBuilder ui)
    {
        ui.MapGet("/apps/review-gateway", async (HttpContext http, IBatonClient client) =>
        {
            var counts = await client.CountRunsAsync(new CountRunsRequest { Workflow = ReviewForwardWorkflow }, http.RequestAborted);
            var recent = await client.ListRunsAsync(new ListRunsRequest { Workflow = ReviewForwardWorkflow, Limit = 20 }, http.RequestAborted);
            return PageResults.Render<ReviewGatewayPage>(http, new ReviewGatewayModel(counts, recent.Runs));
        });

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

/// <summary>
/// The review gateway's jobs by state: accepted (every job run), forwarded (succeeded), waiting (pending: stored, not
/// yet taken), forwarding (running), retrying (suspended between attempts while the worker node is unreachable), failed.
/// </summary>
public sealed record ReviewGatewayModel(RunCounts Counts, IReadOnlyList<RunInfo> Recent)
{
    public IReadOnlyList<(string Name, long Count)> Rows =>
    [
        ("accepted", Counts.Total),
        ("forwarded", Counts[RunStatus.Succeeded]),
        ("waiting", Counts[RunStatus.Pending]),
        ("forwarding", Counts[RunStatus.Running]),
        ("retrying", Counts[RunStatus.Suspended]),
        ("failed", Counts[RunStatus.Failed]),
        ("cancelled", Counts[RunStatus.Cancelled]),
    ];
}
