using Baton.Dashboard.Components;
using Baton.Nodes;
using Baton.Runs;
using Baton.Server.Views;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Dashboard.Pages;

/// <summary>The nodes page and the apps' pages.</summary>
internal static class SystemPages
{
    /// <summary>The catalog sync app's workflow name (the dashboard reads its runs; it does not reference the app).</summary>
    public const string CatalogSyncWorkflow = "catalog-sync";

    /// <summary>The review gateway app's forwarding workflow (one run per accepted job).</summary>
    public const string ReviewForwardWorkflow = "review-forward";

    /// <summary>The brand insights app's merge workflow (one run per batch of a brand's chunks).</summary>
    public const string BrandMergeWorkflow = "brand-merge";

    /// <summary>The doctor onboarding app's sagas.</summary>
    public static readonly string[] DoctorSagaWorkflows = ["doctor-create", "doctor-update", "doctor-delete"];

    /// <summary>Dead letters shown per page on the catalog sync page.</summary>
    public const int DeadLettersPerPage = 50;

    public static void Map(RouteGroupBuilder ui)
    {
        ui.MapPage("/apps/review-gateway", async (HttpContext http, IBatonClient client) =>
        {
            var counts = await client.CountRunsAsync(new CountRunsRequest { Workflow = ReviewForwardWorkflow }, http.RequestAborted);
            var recent = await client.ListRunsAsync(new ListRunsRequest { Workflow = ReviewForwardWorkflow, Limit = 20 }, http.RequestAborted);
            return PageResults.Render<ReviewGatewayPage>(http, new ReviewGatewayModel(counts, recent.Runs));
        });

        ui.MapPage("/nodes", async (HttpContext http, IBatonNodes nodes, TimeProvider time) =>
            PageResults.Render<NodesPage>(http, new NodesModel(await nodes.ListLiveNodesAsync(http.RequestAborted), nodes.NodeId, nodes.LiveWindow, time.GetUtcNow())));

        ui.MapPage("/apps/brand-insights", async Task<IResult> (HttpContext http, IBatonClient client) =>
        {
            // Registered by the brand insights app only when it is enabled on this node.
            if (http.RequestServices.GetService<IBrandInsightsView>() is not { } brands)
            {
                return PageResults.Render<NotFoundPage>(http, "The brand insights app is not enabled on this node.", StatusCodes.Status404NotFound);
            }

            var view = await brands.GetAsync(http.RequestAborted);
            var recent = await client.ListRunsAsync(new ListRunsRequest { Workflow = BrandMergeWorkflow, Limit = 20 }, http.RequestAborted);
            return PageResults.Render<BrandInsightsPage>(http, new BrandInsightsModel(view, recent.Runs));
        });

        ui.MapPage("/apps/doctor-onboarding", async Task<IResult> (HttpContext http, IBatonClient client) =>
        {
            // Registered by the doctor onboarding app only when it is enabled on this node.
            if (http.RequestServices.GetService<IDoctorOnboardingView>() is not { } doctors)
            {
                return PageResults.Render<NotFoundPage>(http, "The doctor onboarding app is not enabled on this node.", StatusCodes.Status404NotFound);
            }

            // The newest 20 of each saga, then the newest 20 of those: three keyset reads, never all runs.
            var sagas = new List<RunInfo>();
            foreach (var workflow in DoctorSagaWorkflows)
            {
                sagas.AddRange((await client.ListRunsAsync(new ListRunsRequest { Workflow = workflow, Limit = 20 }, http.RequestAborted)).Runs);
            }

            return PageResults.Render<DoctorOnboardingPage>(http, new DoctorOnboardingModel(
                doctors.Cache(), [.. sagas.OrderByDescending(r => r.CreatedAt).Take(20)]));
        });

        ui.MapPage("/apps/catalog-sync", async Task<IResult> (HttpContext http, IBatonClient client, TimeProvider time, string? after) =>
        {
            // Read here, not bound: a value that is not a number got the framework's JSON problem, not a page.
            var afterLine = 0L;
            if (after is not null && (!long.TryParse(after, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out afterLine)))
            {
                return PageResults.Render<NotFoundPage>(http, $"'{after}' is not a place in the dead-letter list: after is a whole number from the page's own links.", StatusCodes.Status400BadRequest);
            }

            var latest = await client.ListRunsAsync(new ListRunsRequest { Workflow = CatalogSyncWorkflow, Limit = 10 }, http.RequestAborted);
            var current = latest.Runs.Count > 0 ? latest.Runs[0] : null;
            var now = time.GetUtcNow();
            // Registered by the catalog sync app when it is enabled on this node; one keyset page, never all.
            var deadLetters = current is null ? null : http.RequestServices.GetService<ICatalogDeadLetters>() is { } reader
                ? await reader.ListAsync(current.Id, afterLine, DeadLettersPerPage, http.RequestAborted)
                : null;
            return PageResults.Render<CatalogSyncPage>(http, new CatalogSyncModel(
                current, current is null ? [] : ProgressBar.From(current, now), latest.Runs, now) { DeadLetters = deadLetters, DeadLettersAfter = afterLine });
        });
    }
}

public sealed record BrandInsightsModel(BrandInsightsView View, IReadOnlyList<RunInfo> Recent);

public sealed record DoctorOnboardingModel(DoctorCacheView Cache, IReadOnlyList<RunInfo> Sagas);

public sealed record NodesModel(IReadOnlyList<Storage.NodeRecord> Nodes, string ThisNode, TimeSpan LiveWindow, DateTimeOffset Now);

public sealed record CatalogSyncModel(RunInfo? Current, IReadOnlyList<ProgressBar> Bars, IReadOnlyList<RunInfo> Recent, DateTimeOffset Now)
{
    /// <summary>A page of the current sync's dead letters, or null when the app's store is not readable here (the app is not enabled on this node).</summary>
    public CatalogDeadLetterPage? DeadLetters { get; init; }

    /// <summary>The line the shown page starts after (0: the first page).</summary>
    public long DeadLettersAfter { get; init; }
}

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
