using System.Text.Json;
using Baton.Dashboard.Pages;
using Baton.Runs;
using Baton.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Baton.Dashboard.Live;

/// <summary>
/// Server-sent events for the pages' live parts. One connection per open page; the server reads the run rows (one
/// row each, no steps) once per <see cref="Interval"/> and sends only what changed, so an open page costs a
/// primary-key read per second instead of a page reload. A run's page also gets its timeline's changes as
/// <c>timeline</c> events (<see cref="TimelineFeed"/>: the steps are read once a tick, less often for runs with many
/// steps, and only new or changed entries are sent; the children and events tables whole when they changed,
/// <see cref="SectionFeed"/>). The stream ends when every run it follows has ended.
/// </summary>
internal static class LiveEndpoints
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>The most runs one stream follows (the runs page shows 50).</summary>
    public const int MaxRuns = 100;

    /// <summary>9999-12-31T23:59:59.999Z, the last time <see cref="DateTimeOffset"/> holds.</summary>
    private const long MaxUnixMilliseconds = 253_402_300_799_999;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static void Map(RouteGroupBuilder ui)
    {
        ui.MapGet("/live/runs/{id}", async (HttpContext http, IRunStore runs, IBatonClient client, TimeProvider time, ILoggerFactory loggers, string id, string? since) =>
        {
            // Read here, not bound: a value that is not a number got the framework's JSON problem instead of this rule.
            long? sinceMs = since is null ? null : long.TryParse(since, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var parsed) ? parsed : -1;
            if (sinceMs is < 0 or > MaxUnixMilliseconds)
            {
                http.Response.StatusCode = StatusCodes.Status400BadRequest;
                await http.Response.WriteAsync("since: the page's render time in Unix milliseconds (0 to 253402300799999)", http.RequestAborted);
                return;
            }

            await using var renderer = new HtmlRenderer(http.RequestServices, loggers);
            var html = new ComponentHtml(renderer, DashboardPaths.Of(http));
            var timeline = new TimelineFeed(html, sinceMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null);
            var sections = new SectionFeed(html);
            await StreamAsync(
                http,
                time,
                async ct => await runs.GetRunAsync(id, ct) is { } run ? [run] : [],
                r => RunState(r, time.GetUtcNow()),
                async (run, ct) =>
                {
                    // An ended run's page renders itself again (see dashboard.js), so its timeline is not followed.
                    if (run.Status.IsTerminal() || !timeline.Due() || await client.GetRunAsync(run.Id, ct) is not { } details)
                    {
                        return null;
                    }

                    var changes = await timeline.ChangesAsync(details);
                    var replaced = await sections.ChangesAsync(details);
                    return changes.Count == 0 && replaced.Count == 0 ? null : new
                    {
                        entries = changes.Select(c => new { key = c.Key, after = c.After, html = c.Html }),
                        keep = timeline.Window,
                        sections = replaced.Select(c => new { id = c.Id, html = c.Html }),
                    };
                });
        });

        ui.MapGet("/live/runs", (HttpContext http, IRunStore runs, TimeProvider time, string? ids) =>
        {
            // An id holding U+0000 names no run (no store keeps one), and the PostgreSQL store refuses it: left out.
            var wanted = (ids ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(id => !id.Contains('\0', StringComparison.Ordinal)).Distinct().Take(MaxRuns).ToArray();
            return StreamAsync(
                http,
                time,
                async ct =>
                {
                    var found = new List<RunRecord>(wanted.Length);
                    foreach (var id in wanted)
                    {
                        if (await runs.GetRunAsync(id, ct) is { } run)
                        {
                            found.Add(run);
                        }
                    }

                    return found;
                },
                r => new { id = r.Id, status = r.Status.ToWireName(), phase = r.Phase, terminal = r.Status.IsTerminal() });
        });
    }

    private static object RunState(RunRecord run, DateTimeOffset now) => new
    {
        id = run.Id,
        status = run.Status.ToWireName(),
        phase = run.Phase,
        terminal = run.Status.IsTerminal(),
        bars = ProgressBar.From(run.Progress, run.Status, run.StartedAt ?? run.CreatedAt, run.CompletedAt, now)
            .Select(b => new { name = b.Name, done = b.Done, total = b.Total, percent = b.Percent, rate = b.RateText, eta = b.EtaText }),
        counters = run.Progress,
        errors = run.Errors.Count,
    };

    private static async Task StreamAsync(
        HttpContext http,
        TimeProvider time,
        Func<CancellationToken, Task<IReadOnlyList<RunRecord>>> read,
        Func<RunRecord, object> view,
        Func<RunRecord, CancellationToken, Task<object?>>? timeline = null)
    {
        var ct = http.RequestAborted;
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-store";
        var last = new Dictionary<string, string>(StringComparer.Ordinal);
        var session = Access.DashboardSession.Of(http);
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            do
            {
                // The sign-in again at every tick, not only when the stream opened: a stream follows a waiting run for as long
                // as it waits, so it would go on sending after the session's time ran out or the key changed. The page
                // reloads on this message, which takes the browser to the sign-in page.
                if (!session.IsSignedIn(http))
                {
                    await http.Response.WriteAsync("event: signin\ndata: {}\n\n", ct);
                    return;
                }

                var runs = await read(ct);
                foreach (var run in runs)
                {
                    var json = JsonSerializer.Serialize(view(run), Json);
                    if (!last.TryGetValue(run.Id, out var previous) || previous != json)
                    {
                        last[run.Id] = json;
                        await http.Response.WriteAsync($"data: {json}\n\n", ct);
                    }

                    if (timeline is not null && await timeline(run, ct) is { } changes)
                    {
                        await http.Response.WriteAsync($"event: timeline\ndata: {JsonSerializer.Serialize(changes, Json)}\n\n", ct);
                    }
                }

                await http.Response.Body.FlushAsync(ct);
                if (runs.All(r => r.Status.IsTerminal()))
                {
                    // Nothing left to follow: the client closes instead of reconnecting (see dashboard.js).
                    await http.Response.WriteAsync("event: end\ndata: {}\n\n", ct);
                    return;
                }
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The page was closed.
        }
    }
}
