using Baton.Dashboard.Access;
using Baton.Dashboard.Live;
using Baton.Dashboard.Pages;
using Baton.Server.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Baton.Dashboard;

/// <summary>Registers and maps the web dashboard served at <c>/ui</c>.</summary>
public static class DashboardEndpoints
{
    /// <summary>
    /// Adds what the dashboard needs: Razor components (static server rendering), its own antiforgery (ASP.NET Core's, with
    /// the dashboard's cookie and options; the app's antiforgery options are left as they are) and data protection (the
    /// session cookie is encrypted with it).
    /// </summary>
    public static IServiceCollection AddBatonDashboard(this IServiceCollection services)
    {
        services.AddRazorComponents();
        // The dashboard's own antiforgery (cookie, headers, token purpose), not the app's: a host's pages keep theirs.
        services.TryAddSingleton<DashboardAntiforgery>();
        services.AddDataProtection();
        return services;
    }

    /// <summary>
    /// Maps the dashboard under <c>/ui</c> (below the host's path base, which every URL it writes keeps).
    /// <paramref name="adminKeyMatches"/> checks the key typed on the sign-in page (the host keeps the key; the dashboard
    /// stores only an encrypted copy in the session cookie). The endpoints do not take the <c>X-ADMIN-KEY</c> header: a
    /// browser signs in once and carries the cookie.
    /// </summary>
    public static RouteGroupBuilder MapBatonDashboard(this IEndpointRouteBuilder endpoints, Func<string?, bool> adminKeyMatches)
    {
        ArgumentNullException.ThrowIfNull(adminKeyMatches);
        var keyCheck = new DashboardKeyCheck(adminKeyMatches);
        var ui = endpoints.MapGroup(DashboardPaths.Mount).AllowWithoutAdminKey().ExcludeFromDescription();
        ui.AddEndpointFilter(async (context, next) =>
        {
            SecurityHeaders.Apply(context.HttpContext);
            return await next(context);
        });
        var session = new DashboardSession(endpoints.ServiceProvider.GetRequiredService<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(), keyCheck);
        ui.WithMetadata(session);
        AccessEndpoints.Map(ui);
        AssetEndpoints.Map(ui);

        var signedIn = ui.MapGroup("");
        signedIn.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (session.IsSignedIn(http))
            {
                return await next(context);
            }

            return (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method)) && !http.Request.Path.StartsWithSegments(DashboardPaths.Mount + "/live")
                ? Results.Redirect($"{DashboardPaths.Of(http).SignIn}?returnUrl={Uri.EscapeDataString(http.Request.PathBase.Add(http.Request.Path) + http.Request.QueryString)}")
                : Results.Text("sign in first", statusCode: StatusCodes.Status401Unauthorized);
        });
        signedIn.MapPage("", (HttpContext http) => Results.Redirect(DashboardPaths.Of(http).Runs));
        // No store time limit here (the API's): a page handler left running past the limit would still render into its
        // HttpContext (antiforgery cookie, headers) after the 503 was written, and the context may serve the next request.
        RunPages.Map(signedIn);
        SchedulePages.Map(signedIn);
        SystemPages.Map(signedIn);
        LiveEndpoints.Map(signedIn);
        // Any other path under /ui: the dashboard's own not-found page (signed out: the sign-in page first), not the API's
        // 401 asking for a header a browser cannot send. Routes above are more specific, so they win.
        signedIn.MapPage("/{**rest}", (HttpContext http) =>
            Pages.PageResults.Render<Components.NotFoundPage>(http, $"There is no page at {http.Request.PathBase.Add(http.Request.Path)}.", StatusCodes.Status404NotFound));
        return ui;
    }

    /// <summary>
    /// Maps a page or an asset for GET and for HEAD (the same status and headers; Kestrel sends no body), as a monitor or a
    /// proxy checks a page. Before, the pages were GET only, so a HEAD of one (even the sign-in page) reached the catch-all
    /// and was told 404 "There is no page at ...". The live streams stay GET only: they run until the client leaves.
    /// </summary>
    internal static RouteHandlerBuilder MapPage(this IEndpointRouteBuilder endpoints, string pattern, Delegate handler) =>
        endpoints.MapMethods(pattern, [HttpMethods.Get, HttpMethods.Head], handler);
}
