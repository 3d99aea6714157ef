using Baton.Dashboard.Components;
using Baton.Dashboard.Live;
using Baton.Runs;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Baton.Dashboard.Tests.Live;

/// <summary>
/// The live timeline's bounds, in process: what <see cref="TimelineFeed"/> sends for a run's steps as the store returns
/// them, and <see cref="SectionFeed"/> for its events (the rendering is the page's component; the browser test checks
/// the page end to end).
/// </summary>
public sealed class TimelineFeedTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 0, 0, 0, TimeSpan.Zero);

    private readonly ServiceProvider _services = new ServiceCollection().BuildServiceProvider();
    private HtmlRenderer _renderer = null!;
    private ComponentHtml _html = null!;

    [Fact]
    public async Task ChangesAsync_NothingChanged_SendsNothingThenOnlyTheChangedAndNewEntries()
    {
        var feed = new TimelineFeed(_html, renderedAt: null);
        var steps = new[] { Step("prepare", 0, StepStatus.Succeeded, 1), Step("items/1", 2, StepStatus.Succeeded, 3), Step("items/2", 2, StepStatus.Running) };

        var first = await feed.ChangesAsync(Details(steps));
        var unchanged = await feed.ChangesAsync(Details(steps));
        var later = await feed.ChangesAsync(Details([steps[0], steps[1], Step("items/2", 2, StepStatus.Succeeded, 4), Step("summarize", 5, StepStatus.Running)]));

        Assert.Equal(["prepare", "items/*"], first.Select(c => c.Key));
        Assert.Empty(unchanged);
        Assert.Equal(["items/*", "summarize"], later.Select(c => c.Key));
        Assert.Equal(new[] { "prepare", "items/*" }, later.Select(c => c.After));
        Assert.StartsWith("<tbody data-entry=\"summarize\">", later[1].Html, StringComparison.Ordinal);
        Assert.Contains("2 items: 2 succeeded", later[0].Html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChangesAsync_FirstReadAfterRender_SkipsEntriesLastActiveBeforeTheRender()
    {
        var feed = new TimelineFeed(_html, renderedAt: T0.AddSeconds(60));
        var old = Step("prepare", 0, StepStatus.Succeeded, 1);
        var recent = Step("load", 50, StepStatus.Succeeded, 59);
        var running = Step("wait", 55, StepStatus.Running);

        var first = await feed.ChangesAsync(Details([old, recent, running]));
        var afterRunningEnded = await feed.ChangesAsync(Details([old, recent, Step("wait", 55, StepStatus.Succeeded, 70)]));

        // recent ended within the render slack (2 s) of the page's read: it may have been missed, so it is sent.
        Assert.Equal(["load"], first.Select(c => c.Key));
        Assert.Equal(["wait"], afterRunningEnded.Select(c => c.Key));
    }

    [Fact]
    public async Task ChangesAsync_ManyNewSteps_AtMostOneHundredAnEventRestOnTheNextTick()
    {
        var feed = new TimelineFeed(_html, renderedAt: null);
        // 550 steps in 451 entries (450 steps and a fan-out of 100 items): under the timeline's window of 500 entries.
        var steps = Enumerable.Range(0, 450).Select(i => Step($"step-{i:000}", i, StepStatus.Succeeded, i + 1))
            .Concat(Enumerable.Range(0, 100).Select(i => Step($"items/{i}", 450 + i, StepStatus.Succeeded, 451 + i)))
            .ToArray();

        var reads = new List<IReadOnlyList<TimelineChange>>();
        for (var i = 0; i < 5; i++)
        {
            // 550 steps skip a tick between reads, but not after a capped read: more may be waiting.
            Assert.True(feed.Due(), $"read {i + 1} is due");
            reads.Add(await feed.ChangesAsync(Details(steps)));
        }

        var skipped = !feed.Due();
        Assert.True(feed.Due());
        var last = await feed.ChangesAsync(Details(steps));

        Assert.Equal([100, 100, 100, 100, 51], reads.Select(r => r.Count));
        Assert.Equal(steps.Take(450).Select(s => s.Key).Append("items/*"), reads.SelectMany(r => r).Select(c => c.Key));
        Assert.True(skipped, "the uncapped read is followed by a skipped tick");
        Assert.Empty(last);
    }

    [Fact]
    public async Task Build_TwoThousandSteps_ShowsHeadTailAndTheRunningOneWithAGapForEachHiddenStretch()
    {
        var steps = Enumerable.Range(0, 2_000)
            .Select(i => i == 1_000 ? Step($"step-{i:0000}", i, StepStatus.Running) : Step($"step-{i:0000}", i, StepStatus.Succeeded, i + 1))
            .ToArray();

        var entries = Baton.Dashboard.Pages.TimelineEntry.Build(Details(steps));
        var changes = await new TimelineFeed(_html, renderedAt: null).ChangesAsync(Details(steps));

        Assert.Equal(50 + 1 + 1 + 1 + 450, entries.Count);
        Assert.Equal(steps.Take(50).Select(s => s.Key), entries.Take(50).Select(e => e.Key));
        Assert.Equal(new Baton.Dashboard.Pages.TimelineGap(50, 950, 950), entries[50].Gap);
        Assert.Equal("step-1000", entries[51].Key);
        Assert.Equal(new Baton.Dashboard.Pages.TimelineGap(1_001, 549, 549), entries[52].Gap);
        Assert.Equal(steps.TakeLast(450).Select(s => s.Key), entries.TakeLast(450).Select(e => e.Key));
        // The page and the live stream show the same window; a gap renders as one row saying what it stands for.
        Assert.Equal(entries.Take(TimelineFeed.MaxEntriesPerEvent).Select(e => e.Key), changes.Select(c => c.Key));
        Assert.Contains("950 steps not shown", changes.Single(c => c.Key == "…/50").Html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChangesAsync_WindowedTimelineGrows_WindowListsWhatThePageKeepsAndTheGapCountFollows()
    {
        var feed = new TimelineFeed(_html, renderedAt: null);
        Baton.Runs.StepInfo[] Steps(int count) => [.. Enumerable.Range(0, count).Select(i => Step($"step-{i:0000}", i, StepStatus.Succeeded, i + 1))];
        while ((await feed.ChangesAsync(Details(Steps(600)))).Count > 0)
        {
        }

        var before = feed.Window;
        var grown = await feed.ChangesAsync(Details(Steps(601)));
        var small = new TimelineFeed(_html, renderedAt: null);
        await small.ChangesAsync(Details(Steps(10)));

        // 50 first, the gap, the last 450: the new step enters, step-0150 slides into the gap, whose count moves.
        Assert.Equal(501, before!.Count);
        Assert.Contains("step-0150", before);
        Assert.Equal(501, feed.Window!.Count);
        Assert.DoesNotContain("step-0150", feed.Window);
        Assert.Equal("step-0600", feed.Window[^1]);
        Assert.Equal(["step-0600", "…/50"], grown.Select(c => c.Key).Order(StringComparer.Ordinal));
        Assert.Contains("101 steps not shown", grown.Single(c => c.Key == "…/50").Html, StringComparison.Ordinal);
        // A timeline that fits is not a window: the page keeps every row.
        Assert.Null(small.Window);
    }

    [Fact]
    public async Task Due_RunWithManySteps_ReadsLessOften()
    {
        var feed = new TimelineFeed(_html, renderedAt: null);
        // One fan-out of 1,200 items: one entry, so no cap, and 1,200 / 500 = 2 ticks skipped between reads.
        var steps = Enumerable.Range(0, 1_200).Select(i => Step($"items/{i}", i, StepStatus.Succeeded, i + 1)).ToArray();

        var firstDue = feed.Due();
        await feed.ChangesAsync(Details(steps));
        var ticks = Enumerable.Range(0, 6).Select(_ => feed.Due()).ToList();

        Assert.True(firstDue);
        Assert.Equal([false, false, true, true, true, true], ticks);
    }

    [Theory]
    [InlineData(1_000, false)]
    [InlineData(10_000, true)]
    public async Task ChangesAsync_UnchangedRun_RendersNothingAndAllocatesLittlePerStep(int count, bool fanOut)
    {
        var feed = new TimelineFeed(_html, renderedAt: null);
        var steps = Enumerable.Range(0, count).Select(i => Step(fanOut ? $"items/{i}" : $"step-{i}", i, StepStatus.Succeeded, i + 1)).ToArray();
        var details = Details(steps);
        while ((await feed.ChangesAsync(details)).Count > 0)
        {
        }

        // Nothing changed: nothing is rendered, so each read completes synchronously on this thread and its allocations are this thread's.
        const int Reads = 10;
        var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        var before = GC.GetAllocatedBytesForCurrentThread();
        var sent = 0;
        for (var i = 0; i < Reads; i++)
        {
            sent += (await feed.ChangesAsync(details)).Count;
        }

        var perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Reads / count;
        var cpuPerRead = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / Reads;
        output.WriteLine($"{count} steps ({(fanOut ? "one fan-out" : "sequential")}): {perStep:0} bytes allocated per step per read, {cpuPerRead:0.0} ms process CPU per read");

        Assert.Equal(0, sent);
        Assert.InRange(perStep, 0, 4_096);
    }

    [Fact]
    public async Task SectionFeed_EventStoredWhileOpen_SendsTheEventsSectionOnlyWhenItChanged()
    {
        var feed = new SectionFeed(_html);
        var noEvents = Details([]);
        var stored = new Baton.Events.EventInfo { Name = "note", Sequence = 1, StoredAt = T0.AddSeconds(3) };

        var first = await feed.ChangesAsync(noEvents);
        var added = await feed.ChangesAsync(noEvents with { Events = [stored] });
        var same = await feed.ChangesAsync(noEvents with { Events = [stored] });
        var taken = await feed.ChangesAsync(noEvents with { Events = [stored with { ConsumedAt = T0.AddSeconds(4) }] });

        Assert.Empty(first);
        var events = Assert.Single(added);
        Assert.Equal("events", events.Id);
        Assert.StartsWith("<section data-section=\"events\">", events.Html, StringComparison.Ordinal);
        Assert.Contains("<td>note</td>", events.Html, StringComparison.Ordinal);
        Assert.Empty(same);
        Assert.Contains("2026-12-05 00:00:04Z", Assert.Single(taken).Html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApiHints_DashboardUnderAPathBase_NameTheApiUnderIt()
    {
        // Under app.UsePathBase("/baton") the API is at /baton/api: the rows saying where the left-out entries are listed
        // named /api/runs (a review found them without the prefix).
        var html = new ComponentHtml(_renderer, new DashboardPaths("/baton" + DashboardPaths.Mount));
        Baton.Runs.StepInfo[] steps = [.. Enumerable.Range(0, 600).Select(i => Step($"step-{i:0000}", i, StepStatus.Succeeded, i + 1))];
        var events = Enumerable.Range(1, RunEvents.MaxShown + 1)
            .Select(i => new Baton.Events.EventInfo { Name = "note", Sequence = i, StoredAt = T0.AddSeconds(i) }).ToList();

        var gap = (await new TimelineFeed(html, renderedAt: null).ChangesAsync(Details(steps))).Single(c => c.Key == "…/50").Html;
        var eventsSection = await html.RenderAsync<RunEvents>("Events", events);
        var children = await html.RenderAsync<RunChildren>(new Dictionary<string, object?>
        {
            ["Children"] = new[] { new ChildRunInfo("child-1", "demo", RunStatus.Running) }, ["ParentRunId"] = "run-1", ["More"] = true,
        });

        Assert.Contains("<code>GET /baton/api/runs/{id}</code>", gap, StringComparison.Ordinal);
        Assert.Contains("<code>GET /baton/api/runs/{id}</code>", eventsSection, StringComparison.Ordinal);
        Assert.Contains("<code>GET /baton/api/runs?parentRunId=run-1</code>", children, StringComparison.Ordinal);
        Assert.DoesNotContain(" /api/", gap + eventsSection + children, StringComparison.Ordinal);
    }

    private static StepInfo Step(string key, int startSecond, StepStatus status, int? endSecond = null) => new()
    {
        Key = key,
        Kind = StepKind.Step,
        Status = status,
        Attempts = 1,
        StartedAt = T0.AddSeconds(startSecond),
        CompletedAt = endSecond is { } end ? T0.AddSeconds(end) : null,
    };

    private static RunDetails Details(IReadOnlyList<StepInfo> steps) => new(
        new RunInfo
        {
            Id = "run-1", Workflow = "demo", Status = RunStatus.Running, Progress = new Dictionary<string, long>(), Errors = [],
            CreatedAt = T0, UpdatedAt = T0, RunAfter = T0,
        },
        steps,
        []);

    public Task InitializeAsync()
    {
        _renderer = new HtmlRenderer(_services, NullLoggerFactory.Instance);
        _html = new ComponentHtml(_renderer, new DashboardPaths(DashboardPaths.Mount));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _renderer.DisposeAsync();
        await _services.DisposeAsync();
    }
}
