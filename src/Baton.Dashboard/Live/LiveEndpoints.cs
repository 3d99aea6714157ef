using System.Text.Json;
using Baton.Dashboard.Pages;
using Baton.Runs;
using Baton.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Baton.Dashboard.Live;

/// <summary>
/// Server-sent events for the pages' live parts. One connection per open page; the server reads the run rows (one
/// row each, no steps) once per <see cref="Interval"/> and sends only what changed, so an open page costs a
/// primary-key read per second instead of a page reload. The stream ends when every run it follows has ended.
/// </summary>
internal static class LiveEndpoints
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>The most runs one stream follows (the runs page shows 50).</summary>
    public const int MaxRuns = 100;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static void Map(RouteGroupBuilder ui)
    {
        ui.MapGet("/live/runs/{id}", (HttpContext http, IRunStore runs, TimeProvider time, string id) =>
            StreamAsync(http, time, async ct => await runs.GetRunAsync(id, ct) is { } run ? [run] : [], r => RunState(r, time.GetUtcNow())));

        ui.MapGet("/live/runs", (HttpContext http, IRunStore runs, TimeProvider time, string? ids) =>
        {
            var wanted = (ids ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().Take(MaxRuns).ToArray();
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
        HttpContext http, TimeProvider time, Func<CancellationToken, Task<IReadOnlyList<RunRecord>>> read, Func<RunRecord, object> view)
    {
        var ct = http.RequestAborted;
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-store";
        var last = new Dictionary<string, string>(StringComparer.Ordinal);
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            do
            {
                var runs = await read(ct);
                foreach (var run in runs)
                {
                    var json = JsonSerializer.Serialize(view(run), Json);
                    if (!last.TryGetValue(run.Id, out var previous) || previous != json)
                    {
                        last[run.Id] = json;
                        await http.Response.WriteAsync($"data: {json}\n\n", ct);
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
