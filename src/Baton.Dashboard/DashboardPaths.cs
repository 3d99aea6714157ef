using Microsoft.AspNetCore.Http;

namespace Baton.Dashboard;

/// <summary>
/// The dashboard's URLs for one request, all under <see cref="Root"/>: the host's path base (<c>app.UsePathBase("/baton")</c>)
/// then <see cref="Mount"/>. Every link, form, redirect, cookie path and live-update URL is built from it, so a dashboard
/// mounted under a prefix stays under it; without one they are <c>/ui/...</c>. The components take it as a cascading
/// value (<see cref="Pages.PathsFrame"/>).
/// </summary>
/// <param name="root">The path base and <see cref="Mount"/>, escaped as a URL path.</param>
internal sealed class DashboardPaths(string root)
{
    /// <summary>Where <c>MapBatonDashboard</c> maps the dashboard (below the path base).</summary>
    public const string Mount = "/ui";

    public string Root { get; } = root;

    public string SignIn => Root + "/signin";
    public string SignOut => Root + "/signout";
    public string Runs => Root + "/runs";
    public string Schedules => Root + "/schedules";
    public string Nodes => Root + "/nodes";
    public string CatalogSync => Root + "/apps/catalog-sync";
    public string ReviewGateway => Root + "/apps/review-gateway";
    public string BrandInsights => Root + "/apps/brand-insights";
    public string DoctorOnboarding => Root + "/apps/doctor-onboarding";

    /// <summary>
    /// The HTTP API's runs under the same path base (<c>/api/runs</c>, or <c>/baton/api/runs</c>), which the pages name where
    /// they leave entries out: text to read, not a link (the API takes the admin key in a header, which a link cannot send).
    /// </summary>
    public string ApiRuns => Root[..^Mount.Length] + "/api/runs";

    /// <summary>The paths of the dashboard that <paramref name="http"/> was sent to (under its path base).</summary>
    public static DashboardPaths Of(HttpContext http) => new(http.Request.PathBase.Add(Mount).ToUriComponent());

    public string Run(string id) => $"{Runs}/{Uri.EscapeDataString(id)}";

    public string Schedule(string name) => $"{Schedules}/{Uri.EscapeDataString(name)}";
}
