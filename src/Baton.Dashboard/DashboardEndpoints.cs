using Baton.Dashboard.Access;
using Baton.Dashboard.Live;
using Baton.Dashboard.Pages;
using Baton.Server.Auth;
using Baton.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Dashboard;

/// <summary>Registers and maps the web dashboard served at <c>/ui</c>.</summary>
public static class DashboardEndpoints
{
    /// <summary>
    /// Adds what the dashboard needs: Razor components (static server rendering), antiforgery and data protection
    /// (the session cookie is encrypted with it).
    /// </summary>
    public static IServiceCollection AddBatonDashboard(this IServiceCollection services)
    {
        services.AddRazorComponents();
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "baton_ui_af";
            o.Cookie.Path = DashboardPaths.Root;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.HttpOnly = true;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            // SecurityHeaders sends X-Frame-Options: DENY on every dashboard response.
            o.SuppressXFrameOptionsHeader = true;
        });
        services.AddDataProtection();
        return services;
    }

    /// <summary>What a 503 at the store's time limit says of a form sent just now.</summary>
    internal const string UnknownOutcome =
        "A run started, cancelled or retried or a schedule changed just now may still be stored once the store answers: look at its page before repeating it";

    /// <summary>
    /// Maps the dashboard under <c>/ui</c>. <paramref name="adminKeyMatches"/> checks the key typed on the sign-in
    /// page (the host keeps the key; the dashboard stores only an encrypted copy in the session cookie). The
    /// endpoints do not take the <c>X-ADMIN-KEY</c> header: a browser signs in once and carries the cookie.
    /// </summary>
    public static RouteGroupBuilder MapBatonDashboard(this IEndpointRouteBuilder endpoints, Func<string?, bool> adminKeyMatches)
    {
        ArgumentNullException.ThrowIfNull(adminKeyMatches);
        var keyCheck = new DashboardKeyCheck(adminKeyMatches);
        var ui = endpoints.MapGroup(DashboardPaths.Root).AllowWithoutAdminKey().ExcludeFromDescription();
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

            return HttpMethods.IsGet(http.Request.Method) && !http.Request.Path.StartsWithSegments(DashboardPaths.Root + "/live")
                ? Results.Redirect($"{DashboardPaths.SignIn}?returnUrl={Uri.EscapeDataString(http.Request.Path + http.Request.QueryString)}")
                : Results.Text("sign in first", statusCode: StatusCodes.Status401Unauthorized);
        });
        signedIn.MapGet("", () => Results.Redirect(DashboardPaths.Runs));
        // The pages read and write the store: a store that hangs gets a 503 at Baton:RequestTimeout, not a page that never
        // loads. The live streams are long by design and wait for the store without a limit (a browser reconnects them).
        var pages = signedIn.MapGroup("").WithStoreTimeout(UnknownOutcome);
        RunPages.Map(pages);
        SchedulePages.Map(pages);
        SystemPages.Map(pages);
        LiveEndpoints.Map(signedIn);
        // Any other path under /ui: the dashboard's own not-found page (signed out: the sign-in page first), not the API's
        // 401 asking for a header a browser cannot send. Routes above are more specific, so they win.
        signedIn.MapMethods("/{**rest}", [HttpMethods.Get, HttpMethods.Head], (HttpContext http) =>
            Pages.PageResults.Render<Components.NotFoundPage>(http, $"There is no page at {http.Request.Path}.", StatusCodes.Status404NotFound));
        return ui;
    }
}
