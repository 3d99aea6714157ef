using System.Globalization;
using Baton.Runs;

namespace Baton.Apps.CatalogSync.Api;

/// <summary>Seed 000's status object, built from a run of the catalog-sync workflow, plus Baton's extra fields.</summary>
internal static class SyncStatus
{
    public static Dictionary<string, object?> From(RunInfo? run, DateTimeOffset now, long uptimeSeconds)
    {
        if (run is null)
        {
            return new Dictionary<string, object?>
            {
                ["isRunning"] = false,
                ["currentPhase"] = "idle",
                ["startTime"] = null,
                ["progress"] = new Dictionary<string, object?> { ["fetched"] = false, ["chunksProcessed"] = 0L, ["totalRecords"] = 0L, ["errors"] = Array.Empty<object>() },
                ["uptime"] = uptimeSeconds,
            };
        }

        var p = run.Progress;
        long Get(string counter) => p.GetValueOrDefault(counter);
        var running = !run.Status.IsTerminal();
        var phase = run.Status switch
        {
            RunStatus.Pending when run.Phase is null => "starting",
            RunStatus.Succeeded => "completed",
            RunStatus.Failed or RunStatus.CompensationFailed or RunStatus.Compensated => "failed",
            RunStatus.Cancelled => "cancelled",
            _ => run.Phase ?? "starting",
        };
        var errors = run.Errors.Select(e => (object)new { message = e.Message, step = e.Step, at = Iso(e.At) }).ToList();
        if (run.Failure is { } failure)
        {
            errors.Add(new { message = failure.Message, step = (string?)null, at = Iso(run.CompletedAt ?? run.UpdatedAt) });
        }

        var started = run.StartedAt ?? run.CreatedAt;
        var elapsed = ((run.CompletedAt ?? now) - started).TotalSeconds;
        var records = Get("records");
        var expected = Get("lines.total");
        double? rate = elapsed > 0 && records > 0 ? Math.Round(records / elapsed, 1) : null;
        double? eta = running && rate is > 0 && expected > records ? Math.Round((expected - records) / rate.Value, 1) : null;
        return new Dictionary<string, object?>
        {
            ["isRunning"] = running,
            ["currentPhase"] = phase,
            ["startTime"] = Iso(started),
            ["progress"] = new Dictionary<string, object?>
            {
                ["fetched"] = Get("fetched") == 1,
                ["chunksProcessed"] = Get("chunks.done"),
                ["totalRecords"] = records,
                ["errors"] = errors,
                ["inserted"] = Get("inserted"),
                ["updated"] = Get("updated"),
                ["skipped"] = Get("skipped"),
                ["failed"] = Get("failed"),
                ["blankLines"] = Get("blank"),
                // The chunks the download has cut so far (all of them once it ends); the fan-out's own total counts only
                // the chunks listed to it, a few ahead of the ones running.
                ["chunksTotal"] = Math.Max(Get("chunks.total"), Get("chunks.cut")),
                ["chunksDeadLettered"] = Get("chunks.deadLettered"),
                ["bytes"] = Get("bytes"),
                ["linesTotal"] = expected,
            },
            ["uptime"] = uptimeSeconds,
            ["runId"] = run.Id,
            ["status"] = run.Status.ToWireName(),
            ["finishTime"] = run.CompletedAt is { } done ? Iso(done) : null,
            ["recordsPerSecond"] = rate,
            ["etaSeconds"] = eta,
            ["links"] = new { run = $"/api/runs/{run.Id}" },
        };
    }

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
