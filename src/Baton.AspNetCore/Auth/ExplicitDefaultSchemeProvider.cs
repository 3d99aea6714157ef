using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Baton.Server.Auth;

/// <summary>
/// The framework's scheme provider, except that a scheme becomes the default for authentication only when the host names
/// it (<see cref="AuthenticationOptions.DefaultAuthenticateScheme"/> or <see cref="AuthenticationOptions.DefaultScheme"/>).
/// ASP.NET Core otherwise makes the only registered scheme the default, which would be the admin key: <c>UseAuthentication</c>
/// would then run its handler on every request (probes, the apps' anonymous routes), where nothing reads the result. Baton's
/// policy names its schemes itself, so protected endpoints authenticate all the same. With two schemes or more the framework
/// picks no default either, so a host that adds its own scheme sees the framework's behaviour unchanged.
/// </summary>
internal sealed class ExplicitDefaultSchemeProvider(IOptions<AuthenticationOptions> options) : AuthenticationSchemeProvider(options)
{
    private readonly AuthenticationOptions _options = options.Value;

    public override Task<AuthenticationScheme?> GetDefaultAuthenticateSchemeAsync() =>
        _options.DefaultAuthenticateScheme is not null || _options.DefaultScheme is not null
            ? base.GetDefaultAuthenticateSchemeAsync()
            : Task.FromResult<AuthenticationScheme?>(null);
}
