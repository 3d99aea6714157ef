using Microsoft.Extensions.DependencyInjection;

namespace Baton.Client.Tests;

/// <summary>The handler under the client that <c>AddBatonClient</c> registers: what it does with redirects and connections.</summary>
public sealed class HandlerTests
{
    [Fact]
    public void AddBatonClient_PrimaryHandler_FollowsNoRedirectAndRenewsItsConnections()
    {
        // A typed client taken into a singleton keeps its handler for ever: before, its pooled connections did too, so it
        // never followed a DNS change of the server's name.
        var services = new ServiceCollection();
        services.AddBatonClient(o => o.BaseAddress = new Uri("http://127.0.0.1:3003/"));
        using var provider = services.BuildServiceProvider();

        var handler = provider.GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler(typeof(BatonApiClient).Name);
        while (handler is DelegatingHandler outer)
        {
            handler = outer.InnerHandler!;
        }

        var primary = Assert.IsType<SocketsHttpHandler>(handler);
        Assert.False(primary.AllowAutoRedirect);
        Assert.Equal(TimeSpan.FromMinutes(2), primary.PooledConnectionLifetime);
    }
}
