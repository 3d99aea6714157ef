using Baton.Runs;

namespace Baton.Dashboard.Pages;

/// <summary>
/// A bar for each pair of counters <c>x.total</c> and <c>x.done</c> (both present) (the engine's fan-out and the apps use that
/// naming); rate is done per second since the run started, ETA the remaining count at that rate.
/// </summary>
public sealed record ProgressBar(string Name, long Done, long Total, double Percent, double? RatePerSecond, TimeSpan? Eta)
{
    public static IReadOnlyList<ProgressBar> From(RunInfo run, DateTimeOffset now) =>
        From(run.Progress, run.Status, run.StartedAt ?? run.CreatedAt, run.CompletedAt, now);

    public static IReadOnlyList<ProgressBar> From(
        IReadOnlyDictionary<string, long> progress, RunStatus status, DateTimeOffset startedAt, DateTimeOffset? completedAt, DateTimeOffset now)
    {
        var bars = new List<ProgressBar>();
        foreach (var (key, total) in progress.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!key.EndsWith(".total", StringComparison.Ordinal) || !progress.TryGetValue(key[..^".total".Length] + ".done", out var done))
            {
                continue;
            }

            var name = key[..^".total".Length];
            var elapsed = ((completedAt ?? now) - startedAt).TotalSeconds;
            double? rate = elapsed > 0 && done > 0 ? done / elapsed : null;
            TimeSpan? eta = rate is > 0 && total > done && !status.IsTerminal() ? TimeSpan.FromSeconds((total - done) / rate.Value) : null;
            bars.Add(new ProgressBar(name, done, total, total > 0 ? Math.Min(100, 100.0 * done / total) : 0, rate, eta));
        }

        return bars;
    }

    /// <summary>Counters that are not part of a bar.</summary>
    public static IEnumerable<KeyValuePair<string, long>> Others(RunInfo run) =>
        run.Progress
            .Where(p => !((p.Key.EndsWith(".total", StringComparison.Ordinal) && run.Progress.ContainsKey(p.Key[..^".total".Length] + ".done"))
                || (p.Key.EndsWith(".done", StringComparison.Ordinal) && run.Progress.ContainsKey(p.Key[..^".done".Length] + ".total"))))
            .OrderBy(p => p.Key, StringComparer.Ordinal);

    public string RateText => RatePerSecond is { } r ? $"{r:0.##}/s" : "–";

    public string EtaText => Eta is { } e ? Format.Duration(e) : "–";
}
