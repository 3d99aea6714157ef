using System.Net;
using Baton.Apps.ReviewGateway.Tests.Infrastructure;

namespace Baton.Apps.ReviewGateway.Tests.Health;

/// <summary>The gateway's <c>/health</c> (no key needed) shows the worker URL without the password of its user info.</summary>
public sealed class WorkerUrlShownTests
{
    [Theory]
    [InlineData("http://svc:pa55word@127.0.0.1:14001", "http://svc:***@127.0.0.1:14001")]
    [InlineData("http://svc:p%40ss:w@worker.internal/base?x=1", "http://svc:***@worker.internal/base?x=1")]
    [InlineData("https://svc@worker.internal", "https://svc@worker.internal")]
    [InlineData("http://127.0.0.1:13000", "http://127.0.0.1:13000")]
    [InlineData("http://worker.internal/path@v2", "http://worker.internal/path@v2")]
    public void Shown_UserInfoWithPassword_PasswordMasked(string configured, string shown) =>
        Assert.Equal(shown, Baton.Diagnostics.UrlText.WithoutPassword(new Uri(configured)));

    [Theory]
    [InlineData("http://user:pa/ss@127.0.0.1:27000", "http://user:***@127.0.0.1:27000")]
    [InlineData("http://user:pa?ss@127.0.0.1:27000/x", "http://user:***@127.0.0.1:27000/x")]
    [InlineData("http://user:pa#ss@127.0.0.1:27000", "http://user:***@127.0.0.1:27000")]
    [InlineData("http://user:pa55@bad host", "http://user:***@bad host")]
    public void Shown_TextThatDoesNotParseWithAPasswordHoldingAPathCharacter_PasswordMasked(string configured, string shown) =>
        // Before: the user info was taken to end at the first '/', '?' or '#', so these were shown whole (the start-up
        // report "WORKER_NODE_URL '...' is not an http(s) URL" printed the password).
        Assert.Equal(shown, Baton.Diagnostics.UrlText.WithoutPassword(configured));

    [Theory]
    [InlineData("http://svc:pa55word@127.0.0.1:14001/enqueue", "http://svc:***@127.0.0.1:14001")]
    [InlineData("http://127.0.0.1:14001/enqueue", "http://127.0.0.1:14001")]
    public void Authority_WhereARequestWent_PasswordMasked(string url, string shown) =>
        Assert.Equal(shown, Baton.Diagnostics.UrlText.Authority(new Uri(url)));

    [Fact]
    public async Task Health_WorkerUrlWithPassword_ShownMaskedAndThePasswordNowhereInTheBody()
    {
        // Before: "worker_url":"http://svc:pa55word@127.0.0.1:..." to anyone who could reach the gateway's port.
        var port = Ports.Free();
        await using var server = await GatewayServer.StartAsync(new Uri($"http://svc:pa55word@127.0.0.1:{port}"));

        using var response = await server.Gateway.GetAsync("/health");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("pa55word", text, StringComparison.Ordinal);
        Assert.Contains($"\"worker_url\":\"http://svc:***@127.0.0.1:{port}", text, StringComparison.Ordinal);
    }
}
