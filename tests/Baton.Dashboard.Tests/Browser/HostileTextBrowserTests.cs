using System.Text.Json;
using Baton.Dashboard.Tests.Infrastructure;
using Baton.Runs;
using Microsoft.Playwright;

namespace Baton.Dashboard.Tests.Browser;

/// <summary>
/// A run's own words (its input, phase, counter names, a fan-out item's key, errors, its failure, its correlation id) holding
/// markup, script, quotes, a <c>javascript:</c> URL, a right-to-left override or a long word without spaces, shown in
/// Chromium: as text, inside the page's width.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class HostileTextBrowserTests(BrowserFixture fixture)
{
    private static readonly PageWaitForFunctionOptions Within30S = new() { Timeout = 30_000, PollingInterval = 50 };

    public static TheoryData<string, string> Texts => new()
    {
        { "markup", "<img src=x onerror=\"window.__xss=1\"><script>window.__xss=2</script>\"' onmouseover='window.__xss=3' javascript:window.__xss=4" },
        { "long word", "x" + new string('W', 3000) },
        { "override", "\u202e<b>gnp.exe</b>\u0007\u001b[31m\u200f" },
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public async Task RunPage_RunsOwnWordsHostile_ShownAsTextWithinThePageLiveAndAfterTheEnd(string name, string text)
    {
        await using var host = await EmbeddingHost.StartAsync();
        var id = (await host.Client.StartRunAsync(new StartRunRequest
        {
            Workflow = "echo", Input = JsonSerializer.SerializeToElement(new { text }), CorrelationId = text,
        })).Run!.Id;
        await Poll.UntilAsync(() => host.Client.GetRunAsync(id), d => d?.Run.Status == RunStatus.Suspended, "the run to wait for its event");
        var page = await fixture.Browser.NewPageAsync(host.BaseAddress);
        var dialogs = new List<string>();
        page.Dialog += (_, dialog) => { lock (dialogs) { dialogs.Add(dialog.Message); } };
        await page.GotoAsync("/ui/signin");
        await page.FillAsync("input[name=key]", EmbeddingHost.AdminKey);
        await page.ClickAsync("button[type=submit]");
        await page.Locator("#start-run").WaitForAsync();
        var list = await ReadAsync(page);

        // The run's page while it waits (live), then after it failed with the text (the page renders itself again).
        await page.GotoAsync($"/ui/runs/{id}");
        var live = await ReadAsync(page);
        await host.Client.SendEventAsync(id, "go", JsonSerializer.SerializeToElement(1));
        await page.WaitForFunctionAsync("() => document.querySelector('#run-status')?.textContent === 'failed' && document.querySelector('.error bdi')", null, Within30S);
        var ended = await ReadAsync(page);

        Assert.All(new[] { list, live, ended }, shown =>
        {
            Assert.Null(shown.Xss);
            Assert.Equal(0, shown.Injected);
            Assert.True(shown.ScrollWidth <= shown.Width, $"{name}: the page is {shown.ScrollWidth} px wide in a {shown.Width} px window, past it: {string.Join(", ", shown.Wide)}");
        });
        Assert.Equal(text, live.Phase);
        // The engine stores an error's first 2,000 characters.
        Assert.Equal(text[..Math.Min(text.Length, 2_000)], ended.Failure);
        Assert.Contains(text, ended.Texts);
        Assert.Empty(dialogs);
    }

    [Fact]
    public async Task RunPage_FailedStepNamedWithARightToLeftOverride_TheFailureLineKeepsItsOrder()
    {
        // A step key holding U+202E (a fan-out item keyed by an input value, say). Before: the step's name sat in the failure
        // line's text unisolated, so the override reversed what followed it: the closing parenthesis was drawn left of the name.
        await using var host = await EmbeddingHost.StartAsync();
        var id = (await host.Client.StartRunAsync(new StartRunRequest
        {
            Workflow = "failing-step", Input = JsonSerializer.SerializeToElement(new { text = "pay\u202eabc" }),
        })).Run!.Id;
        await Poll.UntilAsync(() => host.Client.GetRunAsync(id), d => d?.Run.Status == RunStatus.Failed, "the run to fail");
        var page = await fixture.Browser.NewPageAsync(host.BaseAddress);
        await page.GotoAsync("/ui/signin");
        await page.FillAsync("input[name=key]", EmbeddingHost.AdminKey);
        await page.ClickAsync("button[type=submit]");
        await page.Locator("#start-run").WaitForAsync();
        await page.GotoAsync($"/ui/runs/{id}");

        // Where the step's name ends on screen and where the ")" after it is drawn.
        var drawn = await page.EvaluateAsync<double[]>("""
            () => {
              const p = document.querySelector('p.error'), walker = document.createTreeWalker(p, NodeFilter.SHOW_TEXT), range = document.createRange();
              let name = null, paren = null;
              for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const at = node.data.indexOf('abc');
                if (at >= 0) { range.setStart(node, at); range.setEnd(node, at + 3); name = range.getBoundingClientRect().right; }
                const close = node.data.lastIndexOf(')');
                if (close >= 0) { range.setStart(node, close); range.setEnd(node, close + 1); paren = range.getBoundingClientRect().left; }
              }
              return [name, paren];
            }
            """);

        var (nameRight, parenLeft) = (drawn[0], drawn[1]);
        Assert.True(parenLeft >= nameRight - 0.5, $"')' drawn at {parenLeft} px, left of the step's name ending at {nameRight} px");
    }

    /// <summary>What the page shows: script ran (window.__xss), elements the text made, the page's width, the text where it goes.</summary>
    private static async Task<Shown> ReadAsync(IPage page) =>
        await page.EvaluateAsync<Shown>("""
            () => ({
              xss: window.__xss === undefined ? null : String(window.__xss),
              injected: document.querySelectorAll('img, main script, [onerror], [onmouseover]').length
                + [...document.querySelectorAll('b')].filter(b => b.textContent === 'gnp.exe').length,
              scrollWidth: document.documentElement.scrollWidth,
              width: document.documentElement.clientWidth,
              wide: (() => {
                const past = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT), range = document.createRange();
                for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                  range.selectNodeContents(node);
                  const e = node.parentElement;
                  // Text in a <pre> scrolls inside its box (overflow: auto), so only that box counts.
                  if (!e.closest('pre') && range.getBoundingClientRect().right > document.documentElement.clientWidth) {
                    past.push(e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + ' in ' + e.parentElement.tagName.toLowerCase()
                      + (e.parentElement.className ? '.' + e.parentElement.className : ''));
                  }
                }
                return past;
              })(),
              phase: document.querySelector('#run-phase')?.textContent ?? null,
              failure: document.querySelector('.error bdi')?.textContent ?? null,
              texts: [...document.querySelectorAll('main td, main dd, main code, main span')].map(e => e.textContent),
            })
            """);

    private sealed class Shown
    {
        public string? Xss { get; set; }
        public int Injected { get; set; }
        public int ScrollWidth { get; set; }
        public int Width { get; set; }
        public string? Phase { get; set; }
        public string? Failure { get; set; }
        public string[] Texts { get; set; } = [];
        public string[] Wide { get; set; } = [];
    }
}
