using Baton.Runs;

namespace Baton.Dashboard.Pages;

/// <summary>One line of a run's timeline: a step with its attempts, or a fan-out's items grouped under their prefix.</summary>
public sealed record TimelineEntry(StepInfo? Step, IReadOnlyList<StepAttemptInfo> Attempts, FanOutGroup? Group)
{
    /// <summary>How many items of a group are listed; the failed ones come first, so they are never cut off by successes.</summary>
    public const int ItemsShown = 25;

    /// <summary>
    /// Steps in start order; steps whose key has a <c>/</c> (the engine's fan-out items, <c>prefix/item</c>) grouped by
    /// prefix with counts, the failed and dead-lettered items first.
    /// </summary>
    public static IReadOnlyList<TimelineEntry> Build(RunDetails details)
    {
        var attempts = details.Attempts.ToLookup(a => a.StepKey, StringComparer.Ordinal);
        var entries = new List<(DateTimeOffset At, TimelineEntry Entry)>();
        foreach (var group in details.Steps.GroupBy(s => FanOutPrefix(s.Key), StringComparer.Ordinal))
        {
            if (group.Key is null)
            {
                entries.AddRange(group.Select(s => (s.StartedAt, new TimelineEntry(s, attempts[s.Key].OrderBy(a => a.Attempt).ToList(), null))));
                continue;
            }

            var items = group.OrderBy(s => IsFailed(s) ? 0 : 1).ThenBy(s => s.StartedAt).ToList();
            entries.Add((items.Min(s => s.StartedAt), new TimelineEntry(null, [], new FanOutGroup(
                group.Key,
                items.Count,
                items.Count(s => s.Status == StepStatus.Succeeded),
                items.Count(IsFailed),
                items.Count(s => s.Status == StepStatus.Running),
                items.Sum(s => Math.Max(0, s.Attempts - 1)),
                items.Take(ItemsShown).ToList()))));
        }

        return [.. entries.OrderBy(e => e.At).Select(e => e.Entry)];
    }

    public static bool IsFailed(StepInfo step) => step.Status is StepStatus.Failed or StepStatus.DeadLettered;

    private static string? FanOutPrefix(string key)
    {
        if (key.StartsWith(StepKeys.CompensationPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 ? key[..slash] : null;
    }
}

/// <summary>A fan-out's items: counts by outcome, retries made, and the first items (failed first).</summary>
public sealed record FanOutGroup(string Prefix, int Count, int Succeeded, int Failed, int Running, int Retries, IReadOnlyList<StepInfo> Shown);
