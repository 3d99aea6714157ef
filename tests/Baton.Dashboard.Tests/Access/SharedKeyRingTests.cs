using System.Net;
using Baton.Dashboard.Tests.Infrastructure;

namespace Baton.Dashboard.Tests.Access;

/// <summary>
/// The sign-in cookie is encrypted with the server's Data Protection key ring. Two real server processes, each with a
/// home directory of its own (so ASP.NET Core's default rings differ), stand for two nodes behind one load balancer.
/// </summary>
public sealed class SharedKeyRingTests
{
    [Fact]
    public async Task SignIn_TwoServersShareKeysPath_CookieMadeByOneSignsInOnTheOther()
    {
        var keys = Path.Combine(TestPaths.NewTempDirectory(), "keys");
        await using var first = await DashboardServer.StartAsync(extra: ServerEnvironment.OwnHome(keys));
        await using var second = await DashboardServer.StartAsync(extra: ServerEnvironment.OwnHome(keys));

        var cookie = await SignInCookieAsync(first);

        Assert.Equal(HttpStatusCode.OK, await RunsPageStatusAsync(second, cookie));
        Assert.NotEmpty(Directory.GetFiles(keys, "key-*.xml"));
    }

    [Fact]
    public async Task SignIn_TwoServersWithoutKeysPath_CookieMadeByOneRefusedByTheOther()
    {
        await using var first = await DashboardServer.StartAsync(extra: ServerEnvironment.OwnHome(keys: null));
        await using var second = await DashboardServer.StartAsync(extra: ServerEnvironment.OwnHome(keys: null));

        var cookie = await SignInCookieAsync(first);

        Assert.Equal(HttpStatusCode.OK, await RunsPageStatusAsync(first, cookie));
        Assert.Equal(HttpStatusCode.Redirect, await RunsPageStatusAsync(second, cookie));
    }

    /// <summary>Signs in through the form; returns the <c>baton_ui=...</c> pair the server set.</summary>
    private static async Task<string> SignInCookieAsync(DashboardServer server)
    {
        using var client = server.NewBrowserlessClient();
        using var response = await DashboardServer.SignInAsync(client, DashboardServer.AdminKey);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("baton_ui=", StringComparison.Ordinal)).Split(';')[0];
    }

    /// <summary>GET /ui/runs with only <paramref name="cookie"/>: 200 when it signs in, a redirect to the sign-in page when not.</summary>
    private static async Task<HttpStatusCode> RunsPageStatusAsync(DashboardServer server, string cookie)
    {
        using var client = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ui/runs");
        request.Headers.Add("Cookie", cookie);
        using var response = await client.SendAsync(request);
        if (response.StatusCode == HttpStatusCode.Redirect)
        {
            Assert.StartsWith("/ui/signin", response.Headers.Location?.ToString(), StringComparison.Ordinal);
        }

        return response.StatusCode;
    }
}
