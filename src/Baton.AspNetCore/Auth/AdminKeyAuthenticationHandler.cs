using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Baton.Server.Auth;

/// <summary>Options of the admin-key scheme; the key itself is the <see cref="AdminKey"/> service.</summary>
public sealed class AdminKeyAuthenticationOptions : AuthenticationSchemeOptions;

/// <summary>
/// The admin key as an ASP.NET Core authentication scheme (<see cref="BatonAuthorization.AdminKeyScheme"/>): the key from the
/// <c>X-ADMIN-KEY</c> header, or from <c>?key=</c> on an endpoint whose <see cref="AdminKeyMetadata"/> allows it. No key is
/// "no result", so another scheme of the policy (a JWT bearer) can still authenticate the request; a wrong key fails.
/// A challenge sets 401 and logs the refusal; <see cref="BatonAuthorizationResultHandler"/> writes the seeds' body
/// (<c>{"error":"Unauthorized","detail":...}</c>) once every scheme of the policy has challenged.
/// </summary>
internal sealed class AdminKeyAuthenticationHandler(
    IOptionsMonitor<AdminKeyAuthenticationOptions> options, ILoggerFactory loggers, UrlEncoder encoder, AdminKey key)
    : AuthenticationHandler<AdminKeyAuthenticationOptions>(options, loggers, encoder)
{
    /// <summary>The role the admin key's principal carries.</summary>
    public const string AdminRole = "baton-admin";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var (presented, _) = Presented(Context);
        if (presented.Length == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!key.Matches(presented))
        {
            return Task.FromResult(AuthenticateResult.Fail("wrong admin key"));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "admin"), new Claim(ClaimTypes.Role, AdminRole)], Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var (presented, source) = Presented(Context);
        Log.Unauthorized(Logger, Request.Method, Request.Path.Value ?? "/", presented.Length == 0 ? "missing" : $"wrong ({source})");
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        return Task.CompletedTask;
    }

    /// <summary>The key the request presents and where: the header first, then <c>?key=</c> where the endpoint allows it.</summary>
    private static (string Key, string Source) Presented(HttpContext context)
    {
        var presented = context.Request.Headers[AdminKeyEndpointExtensions.HeaderName].ToString();
        if (presented.Length == 0 && context.GetEndpoint()?.Metadata.GetMetadata<AdminKeyMetadata>() is { AllowQueryKey: true })
        {
            return (context.Request.Query[AdminKeyEndpointExtensions.QueryName].ToString(), "query");
        }

        return (presented, "header");
    }
}
