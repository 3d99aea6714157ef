using Baton.Dashboard.Access;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Dashboard.Pages;

/// <summary>Renders pages and reads posted forms, with the antiforgery token on both sides.</summary>
internal static class PageResults
{
    /// <summary>
    /// Renders <typeparamref name="TPage"/> with its <c>Model</c> and a fresh antiforgery token (<c>Csrf</c>), under the
    /// request's <see cref="DashboardPaths"/>.
    /// </summary>
    public static RazorComponentResult<PathsFrame> Render<TPage>(HttpContext http, object model, int statusCode = StatusCodes.Status200OK)
        where TPage : IComponent
    {
        var tokens = http.RequestServices.GetRequiredService<DashboardAntiforgery>().GetAndStoreTokens(http);
        return new RazorComponentResult<PathsFrame>(PathsFrame.For<TPage>(DashboardPaths.Of(http), new Dictionary<string, object?>
        {
            ["Model"] = model,
            ["Csrf"] = new CsrfToken(tokens.FormFieldName, tokens.RequestToken ?? ""),
        }))
        { StatusCode = statusCode };
    }

    /// <summary>The posted form, or null when its antiforgery token is missing or wrong (a cross-site post).</summary>
    public static async Task<IFormCollection?> ReadFormAsync(HttpContext http)
    {
        if (!http.Request.HasFormContentType)
        {
            return null;
        }

        try
        {
            await http.RequestServices.GetRequiredService<DashboardAntiforgery>().ValidateRequestAsync(http);
        }
        catch (AntiforgeryValidationException ex) when (ex.InnerException is InvalidDataException or IOException)
        {
            // The form could not be read at all (over ASP.NET Core's limits: 1,024 fields, a value over 4 MB): say so, not that
            // the token is wrong, which reloading would not fix.
            http.Items[FormErrorKey] = $"The form could not be read: {ex.InnerException.Message}";
            return null;
        }
        catch (AntiforgeryValidationException)
        {
            return null;
        }

        return await http.Request.ReadFormAsync(http.RequestAborted);
    }

    private const string FormErrorKey = "baton.dashboard.form-error";

    /// <summary>The answer to a form <see cref="ReadFormAsync"/> refused: why it could not be read, or the token's message.</summary>
    public static IResult Forbidden(HttpContext http) =>
        Results.Text(
            http.Items.TryGetValue(FormErrorKey, out var error) && error is string text
                ? text
                : "The form's anti-forgery token is missing or wrong: reload the page and try again.",
            statusCode: StatusCodes.Status400BadRequest);

    /// <summary>
    /// A local dashboard path (under <paramref name="paths"/>' <see cref="DashboardPaths.Root"/>), or the runs page: the
    /// sign-in page never redirects off the dashboard. The path is taken only as the dashboard writes one (escaped:
    /// printable ASCII without spaces), since it goes into the Location header as it is (Kestrel refused other characters
    /// there with a 500), and without path steps, which a browser would follow off the dashboard (<c>/ui/../api/runs</c>,
    /// also written <c>%2e%2e</c>).
    /// </summary>
    public static string LocalReturnUrl(DashboardPaths paths, string? returnUrl)
    {
        if (returnUrl is not { Length: > 0 } url || !url.StartsWith(paths.Root + "/", StringComparison.Ordinal)
            || url.AsSpan().ContainsAnyExceptInRange('!', '~') || url.Contains('\\', StringComparison.Ordinal))
        {
            return paths.Runs;
        }

        var path = url.AsSpan(0, url.IndexOfAny(['?', '#']) is var end and >= 0 ? end : url.Length);
        foreach (var range in path.Split('/'))
        {
            if (path[range] is "." or ".." || path[range].Contains("%2e", StringComparison.OrdinalIgnoreCase))
            {
                return paths.Runs;
            }
        }

        return url;
    }
}

/// <summary>The antiforgery field a form posts back.</summary>
public sealed record CsrfToken(string FieldName, string Value);
