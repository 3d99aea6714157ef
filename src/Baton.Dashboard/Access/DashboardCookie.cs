using Microsoft.AspNetCore.Http;

namespace Baton.Dashboard.Access;

/// <summary>
/// The antiforgery cookie, with the dashboard's path for each request (<see cref="DashboardPaths.Root"/>). A path set once
/// at start-up (<c>/ui</c>) left the cookie outside a dashboard mounted under a path base, so every form post failed its
/// check. <see cref="CookieBuilder.Path"/> stays null on purpose: ASP.NET Core's token store writes it over the built
/// path when it is set, and else writes the request's path base over it when there is one, so under <c>/baton</c> the
/// cookie's path is <c>/baton</c> (which holds the dashboard) and without a path base it is <c>/ui</c> as before.
/// </summary>
internal sealed class DashboardCookie : CookieBuilder
{
    public override CookieOptions Build(HttpContext context, DateTimeOffset expiresFrom)
    {
        var options = base.Build(context, expiresFrom);
        options.Path = DashboardPaths.Of(context).Root;
        return options;
    }
}
