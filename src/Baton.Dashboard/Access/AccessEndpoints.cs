using Baton.Dashboard.Components;
using Baton.Dashboard.Pages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Baton.Dashboard.Access;

/// <summary>Sign-in and sign-out.</summary>
internal static class AccessEndpoints
{
    public static void Map(RouteGroupBuilder ui)
    {
        ui.MapPage("/signin", (HttpContext http, string? returnUrl) =>
            PageResults.Render<SignInPage>(http, new SignInModel(PageResults.LocalReturnUrl(DashboardPaths.Of(http), returnUrl), null)));

        ui.MapPost("/signin", async (HttpContext http) =>
        {
            var form = await PageResults.ReadFormAsync(http);
            if (form is null)
            {
                return PageResults.Forbidden(http);
            }

            var returnUrl = PageResults.LocalReturnUrl(DashboardPaths.Of(http), form["returnUrl"]);
            return DashboardSession.Of(http).TrySignIn(http, form["key"])
                ? Results.Redirect(returnUrl)
                : PageResults.Render<SignInPage>(http, new SignInModel(returnUrl, "That key was refused. Enter the server's admin key (ADMIN_KEY)."), StatusCodes.Status401Unauthorized);
        });

        ui.MapPost("/signout", async (HttpContext http) =>
        {
            if (await PageResults.ReadFormAsync(http) is null)
            {
                return PageResults.Forbidden(http);
            }

            DashboardSession.Of(http).SignOut(http);
            return Results.Redirect(DashboardPaths.Of(http).SignIn);
        });
    }
}

/// <summary>The sign-in page: where to go after, and the refusal message after a wrong key.</summary>
public sealed record SignInModel(string ReturnUrl, string? Error);
