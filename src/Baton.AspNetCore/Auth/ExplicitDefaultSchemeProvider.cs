using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Baton.Server.Auth;

/// <summary>
/// The framework's scheme provider, with the defaults the host app would have without Baton: Baton's admin key scheme
/// (<see cref="BatonAuthorization.AdminKeyScheme"/>) is never a default unless the host names it, and does not count
/// among the schemes. ASP.NET Core makes the only registered scheme the default; without this the admin key alone would be
/// it (<c>UseAuthentication</c> would run its handler on every request: probes, the apps' anonymous routes, where nothing
/// reads the result), and a host with one scheme of its own would have two, so no default at all: its
/// <c>RequireAuthorization()</c> routes failed with "no DefaultChallengeScheme found" (500) and <c>SignInAsync</c> without a
/// scheme threw. Now the host's only scheme is its default, as without Baton; defaults the host names are taken as they are.
/// Baton's policy names its schemes itself, so its endpoints authenticate all the same.
/// </summary>
internal sealed class ExplicitDefaultSchemeProvider(IOptions<AuthenticationOptions> options) : AuthenticationSchemeProvider(options)
{
    private readonly AuthenticationOptions _options = options.Value;

    public override Task<AuthenticationScheme?> GetDefaultAuthenticateSchemeAsync() =>
        Named(_options.DefaultAuthenticateScheme) ? base.GetDefaultAuthenticateSchemeAsync() : HostsOnlySchemeAsync();

    public override Task<AuthenticationScheme?> GetDefaultChallengeSchemeAsync() =>
        Named(_options.DefaultChallengeScheme) ? base.GetDefaultChallengeSchemeAsync() : HostsOnlySchemeAsync();

    // Forbid falls back to the challenge scheme and sign-out to the sign-in scheme, as in the base class.
    public override Task<AuthenticationScheme?> GetDefaultForbidSchemeAsync() =>
        Named(_options.DefaultForbidScheme) ? base.GetDefaultForbidSchemeAsync() : GetDefaultChallengeSchemeAsync();

    public override Task<AuthenticationScheme?> GetDefaultSignInSchemeAsync() =>
        Named(_options.DefaultSignInScheme) ? base.GetDefaultSignInSchemeAsync() : HostsOnlySchemeAsync();

    public override Task<AuthenticationScheme?> GetDefaultSignOutSchemeAsync() =>
        Named(_options.DefaultSignOutScheme) ? base.GetDefaultSignOutSchemeAsync() : GetDefaultSignInSchemeAsync();

    /// <summary>Whether the host named this default, or <see cref="AuthenticationOptions.DefaultScheme"/>: the framework's answer then.</summary>
    private bool Named(string? specific) => specific is not null || _options.DefaultScheme is not null;

    /// <summary>The host's scheme when it registered exactly one besides Baton's (ASP.NET Core's rule, its switch honoured).</summary>
    private async Task<AuthenticationScheme?> HostsOnlySchemeAsync()
    {
        if (AppContext.TryGetSwitch("Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme", out var suppressed) && suppressed)
        {
            return null;
        }

        var hosts = (await GetAllSchemesAsync().ConfigureAwait(false)).Where(s => s.Name != BatonAuthorization.AdminKeyScheme).Take(2).ToList();
        return hosts.Count == 1 ? hosts[0] : null;
    }
}
