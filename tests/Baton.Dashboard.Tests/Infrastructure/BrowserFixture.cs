namespace Baton.Dashboard.Tests.Infrastructure;

/// <summary>One Chromium for the whole test run; each test opens its own context (its own cookies).</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private Browser? _browser;

    public Browser Browser => _browser ?? throw new InvalidOperationException("the browser is not started");

    public async Task InitializeAsync() => _browser = await Browser.LaunchAsync();

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
