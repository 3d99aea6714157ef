using Microsoft.Playwright;

namespace Baton.Dashboard.Tests.Infrastructure;

/// <summary>
/// Debian's Chromium driven by Playwright, headless (<c>apt-get install chromium</c>; scripts/test.sh installs it).
/// No browser is downloaded: the executable is the one on PATH.
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    private readonly IPlaywright _playwright;

    private Browser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Instance = browser;
    }

    public IBrowser Instance { get; }

    public static async Task<Browser> LaunchAsync()
    {
        var executable = FindChromium()
            ?? throw new InvalidOperationException("These tests need Chromium: apt-get install -y chromium (scripts/test.sh installs it).");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            // Root in CI containers has no user namespaces for Chromium's sandbox.
            Args = ["--no-sandbox"],
        });
        return new Browser(playwright, browser);
    }

    /// <summary>A fresh context (its own cookies) with a page at 1280x860.</summary>
    public async Task<IPage> NewPageAsync(Uri baseAddress)
    {
        var context = await Instance.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 860 },
        });
        // Bounds on waiting only (each wait ends as soon as its condition holds): generous for a loaded 2-core CI machine.
        context.SetDefaultTimeout(60_000);
        context.SetDefaultNavigationTimeout(60_000);
        return await context.NewPageAsync();
    }

    /// <summary>Signs in on the sign-in page with <paramref name="key"/>.</summary>
    public static async Task SignInAsync(IPage page, string key)
    {
        await page.GotoAsync("/ui/signin");
        await page.FillAsync("input[name=key]", key);
        await page.ClickAsync("button[type=submit]");
    }

    /// <summary>A new page signed in with the admin key, on the runs page.</summary>
    public async Task<IPage> SignedInPageAsync(DashboardServer server)
    {
        var page = await NewPageAsync(server.BaseAddress);
        await SignInAsync(page, DashboardServer.AdminKey);
        // The runs page's form, found by polling the page: no wait on a lifecycle event. WaitForURLAsync waits for "load"
        // when the URL already matches, whatever WaitUntil says (Commit maps to no load state, which means "load"), so it
        // waited for the load event whenever the sign-in's redirect had committed before the call; on a loaded CI machine
        // that event did not come within 60 s, in the run's first signed-in test (CI 2026-12-05, 2 of 9 runs; "NetworkIdle"
        // fired, "load" did not). The page's load state and resource timings are in the message if the form does not show.
        try
        {
            await page.Locator("#start-run").WaitForAsync();
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"after signing in, no runs page form: {await DescribeAsync(page)}", ex);
        }

        Assert.Equal("/ui/runs", new Uri(page.Url).AbsolutePath);
        return page;
    }

    /// <summary>Where the page is, its document's ready state, navigation and resource timings, and the start of its text.</summary>
    private static async Task<string> DescribeAsync(IPage page)
    {
        var timings = await page.EvaluateAsync<string>(
            "() => JSON.stringify({ ready: document.readyState, navigation: performance.getEntriesByType('navigation').map(e => [e.type, e.domContentLoadedEventEnd, e.loadEventEnd]), resources: performance.getEntriesByType('resource').map(e => [e.name, e.startTime, e.responseEnd]) })");
        var text = await page.InnerTextAsync("body");
        return $"{page.Url} {timings} {text[..Math.Min(text.Length, 500)]}";
    }

    /// <summary>Starts a <c>demo</c> run from the runs page's form and waits for its page; returns the run id.</summary>
    public static async Task<string> StartDemoRunAsync(IPage page, string input)
    {
        await page.SelectOptionAsync("#start-run select[name=workflow]", "demo");
        await page.FillAsync("#start-run textarea[name=input]", input);
        await page.ClickAsync("#start-run button[type=submit]");
        await page.WaitForURLAsync("**/ui/runs/*");
        return page.Url[(page.Url.LastIndexOf('/') + 1)..];
    }

    /// <summary>
    /// Saves a screenshot for the README under docs/images when BATON_SCREENSHOTS=1 (so ordinary test runs leave the
    /// working tree alone).
    /// </summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        if (Environment.GetEnvironmentVariable("BATON_SCREENSHOTS") != "1")
        {
            return;
        }

        var directory = Path.Combine(TestPaths.RepoRoot, "docs", "images");
        Directory.CreateDirectory(directory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, name), FullPage = false });
    }

    private static string? FindChromium() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "chromium"))
            .FirstOrDefault(File.Exists);

    public async ValueTask DisposeAsync()
    {
        await Instance.DisposeAsync();
        _playwright.Dispose();
    }
}
