using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Baton.Dashboard.Access;

/// <summary>
/// The dashboard's antiforgery: ASP.NET Core's own (<see cref="IAntiforgery"/>), built in a service container of its own with
/// the dashboard's options, so the host app's <see cref="IAntiforgery"/> and <see cref="AntiforgeryOptions"/> stay as the host
/// set them. Configuring the app's antiforgery instead (one set of options per app) gave every page of a host that embeds the
/// dashboard the dashboard's cookie name and path and no <c>X-Frame-Options</c>. The cookie is <c>baton_ui_af</c>, scoped to
/// the dashboard (<see cref="DashboardPaths.Root"/>), HttpOnly, SameSite=Strict; the tokens are protected under a purpose of
/// their own, so a token pair the host's antiforgery issued does not pass the dashboard's check; the dashboard's own
/// <c>X-Frame-Options: DENY</c> (<see cref="SecurityHeaders"/>) stays, ASP.NET Core's <c>SAMEORIGIN</c> is not added.
/// </summary>
internal sealed class DashboardAntiforgery : IDisposable
{
    public const string CookieName = "baton_ui_af";

    private readonly ServiceProvider _services;
    private readonly IAntiforgery _antiforgery;

    public DashboardAntiforgery(IDataProtectionProvider protection, ILoggerFactory loggers)
    {
        var services = new ServiceCollection();
        // Registered before AddAntiforgery, whose AddDataProtection only adds a provider when there is none.
        services.AddSingleton<IDataProtectionProvider>(protection.CreateProtector("Baton.Dashboard.Antiforgery"));
        services.AddSingleton(loggers);
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = CookieName;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.HttpOnly = true;
            o.Cookie.IsEssential = true;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            // Left null on purpose: the token store then scopes the cookie to the request's path base (GetAndStoreTokens).
            o.Cookie.Path = null;
            o.SuppressXFrameOptionsHeader = true;
        });
        _services = services.BuildServiceProvider();
        _antiforgery = _services.GetRequiredService<IAntiforgery>();
    }

    /// <summary>
    /// The tokens for a page's forms, setting the cookie when the request has none. ASP.NET Core's token store scopes the
    /// cookie to the request's path base (it writes the path base over the path a cookie builder gives), so it is called with
    /// the dashboard's root as the path base for the call: the cookie's path is <c>/ui</c>, or <c>/baton/ui</c> under
    /// <c>app.UsePathBase("/baton")</c>, never the whole app or the whole prefix.
    /// </summary>
    public AntiforgeryTokenSet GetAndStoreTokens(HttpContext http)
    {
        var request = http.Request;
        var pathBase = request.PathBase;
        request.PathBase = pathBase.Add(DashboardPaths.Mount);
        try
        {
            return _antiforgery.GetAndStoreTokens(http);
        }
        finally
        {
            request.PathBase = pathBase;
        }
    }

    /// <summary>Throws <see cref="AntiforgeryValidationException"/> when the posted form's token does not match the cookie's.</summary>
    public Task ValidateRequestAsync(HttpContext http) => _antiforgery.ValidateRequestAsync(http);

    public void Dispose() => _services.Dispose();
}
