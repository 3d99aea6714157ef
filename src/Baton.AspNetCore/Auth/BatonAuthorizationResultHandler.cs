using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Baton.Server.Auth;

/// <summary>
/// Gives a refused request to a Baton endpoint the body the seeds' clients expect, after the framework's own handling has let
/// every scheme of the policy challenge (so a JWT bearer scheme still adds its <c>WWW-Authenticate</c> header). Where the
/// policy includes the admin key: <c>{"error":"Unauthorized","detail":"send the admin key in the X-ADMIN-KEY header"}</c>
/// (naming <c>?key=</c> too where the endpoint accepts it); otherwise, on Baton's routes (<see cref="AdminKeyMetadata"/>) and
/// unmatched paths, a problem details body. A host's own routes under its own policies are left as the framework answers them.
/// </summary>
internal sealed class BatonAuthorizationResultHandler(IProblemDetailsService problems) : IAuthorizationMiddlewareResultHandler
{
    internal static readonly byte[] UnauthorizedBody =
        """{"error":"Unauthorized","detail":"send the admin key in the X-ADMIN-KEY header"}"""u8.ToArray();

    internal static readonly byte[] UnauthorizedQueryBody =
        """{"error":"Unauthorized","detail":"send the admin key in the X-ADMIN-KEY header or the key query parameter"}"""u8.ToArray();

    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        await _default.HandleAsync(next, context, policy, authorizeResult).ConfigureAwait(false);
        var endpoint = context.GetEndpoint();
        var metadata = endpoint?.Metadata.GetMetadata<AdminKeyMetadata>();
        if (!authorizeResult.Challenged || context.Response.HasStarted || context.Response.StatusCode != StatusCodes.Status401Unauthorized)
        {
            return;
        }

        if (policy.AuthenticationSchemes.Contains(BatonAuthorization.AdminKeyScheme))
        {
            var body = metadata is { AllowQueryKey: true } ? UnauthorizedQueryBody : UnauthorizedBody;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        if (endpoint is not null && metadata is null)
        {
            return;
        }

        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails =
            {
                Status = StatusCodes.Status401Unauthorized,
                Type = Api.Problems.TypePrefix + "unauthorized",
                Title = "Unauthorized",
                Detail = "the request carries no valid credentials for this endpoint",
            },
        }).ConfigureAwait(false);
    }
}
