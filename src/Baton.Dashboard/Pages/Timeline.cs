using Baton.Runs;

namespace Baton.Dashboard.Pages;

/// <summary>
/// One line of a run's timeline: a step with its attempts, a fan-out's items grouped under their prefix, or a gap
/// standing for entries of a long timeline that are not shown (<see cref="Gap"/>).
/// </summary>
public sealed record TimelineEntry(StepInfo? Step, IReadOnlyList<StepAttemptInfo> Attempts, FanOutGroup? Group)
{
    /// <summary>The entry's id on the page and in the live stream: the step key, <c>prefix/*</c> for a fan-out, <c>…/n</c> for a gap.</summary>
    public string Key => Step?.Key ?? (Group is { } g ? g.Prefix + "/*" : $"…/{Gap!.From}");

    /// <summary>For a gap: the entries it stands for (from the timeline's entry <c>From</c>) and the steps they hold.</summary>
    public TimelineGap? Gap { get; init; }

    /// <summary>The latest start or end of the entry's steps and attempts.</summary>
    public DateTimeOffset LastActivity { get; init; }

    /// <summary>
    /// Everything the entry's rows show, as text: two equal fingerprints render the same rows, so the live stream
    /// renders and sends an entry only when its fingerprint changed.
    /// </summary>
    public string Fingerprint => Group is { } g
        ? $"{g.Count}|{g.Succeeded}|{g.Failed}|{g.Running}|{g.Retries}|" + string.Join(',', g.Shown.Select(StepPrint))
        : Gap is { } gap ? $"gap|{gap.Entries}|{gap.Steps}"
        : StepPrint(Step!) + "|" + Attempts.Count + "|" + string.Join(',', ShownAttempts.Select(a => $"{a.Attempt}:{a.Outcome}:{a.EndedAt?.UtcTicks}:{a.ErrorMessage}"));

    /// <summary>How many of a step's first attempts are listed.</summary>
    public const int FirstAttemptsShown = 5;

    /// <summary>How many of a step's last attempts are listed; the ones between stand in one row (a review listed 600 rows for one step).</summary>
    public const int LastAttemptsShown = 20;

    /// <summary>The attempts the entry lists: all, or the first <see cref="FirstAttemptsShown"/> and last <see cref="LastAttemptsShown"/>.</summary>
    public IEnumerable<StepAttemptInfo> ShownAttempts => Attempts.Count <= FirstAttemptsShown + LastAttemptsShown
        ? Attempts
        : Attempts.Take(FirstAttemptsShown).Concat(Attempts.Skip(Attempts.Count - LastAttemptsShown));

    /// <summary>How many attempts the entry does not list.</summary>
    public int AttemptsNotShown => Math.Max(0, Attempts.Count - FirstAttemptsShown - LastAttemptsShown);

    /// <summary>How many items of a group are listed; the failed ones come first, so they are never cut off by successes.</summary>
    public const int ItemsShown = 25;

    /// <summary>
    /// The most entries a timeline shows: a longer one shows its first <see cref="HeadShown"/> and last
    /// <see cref="TailShown"/> entries and those still running, with a gap row for the rest. A reviewer's run of
    /// 50,000 steps rendered 50,005 rows (an 11 MB page, about 550 MB allocated per view).
    /// </summary>
    public const int MaxShown = 500;

    /// <summary>The first entries of a long timeline that are shown.</summary>
    public const int HeadShown = 50;

    /// <summary>The last entries of a long timeline that are shown.</summary>
    public const int TailShown = MaxShown - HeadShown;

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
                entries.AddRange(group.Select(s =>
                {
                    var own = attempts[s.Key].OrderBy(a => a.Attempt).ToList();
                    return (s.StartedAt, new TimelineEntry(s, own, null) { LastActivity = Latest([s], own) });
                }));
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
                items.Take(ItemsShown).ToList()))
            {
                LastActivity = Latest(items, group.SelectMany(s => attempts[s.Key])),
            }));
        }

        return Window([.. entries.OrderBy(e => e.At).Select(e => e.Entry)]);
    }

    /// <summary>A long timeline cut to its head, its tail and its running entries, each run of hidden entries one gap.</summary>
    private static IReadOnlyList<TimelineEntry> Window(List<TimelineEntry> entries)
    {
        if (entries.Count <= MaxShown)
        {
            return entries;
        }

        var shown = new List<TimelineEntry>(MaxShown + 2);
        var gapFrom = -1;
        var gapSteps = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            if (i < HeadShown || i >= entries.Count - TailShown || IsActive(entry))
            {
                CloseGap(i);
                shown.Add(entry);
                continue;
            }

            gapFrom = gapFrom < 0 ? i : gapFrom;
            gapSteps += entry.Group?.Count ?? 1;
        }

        CloseGap(entries.Count);
        return shown;

        void CloseGap(int end)
        {
            if (gapFrom >= 0)
            {
                // Never sent as changed on the live stream's first read: it stands for entries the page already left out.
                shown.Add(new TimelineEntry(null, [], null) { Gap = new TimelineGap(gapFrom, end - gapFrom, gapSteps), LastActivity = DateTimeOffset.MinValue });
                gapFrom = -1;
                gapSteps = 0;
            }
        }
    }

    private static bool IsActive(TimelineEntry entry) =>
        entry.Group is { } g ? g.Running > 0 : entry.Step is { Status: StepStatus.Running };

    public static bool IsFailed(StepInfo step) => step.Status is StepStatus.Failed or StepStatus.DeadLettered;

    private static string StepPrint(StepInfo s) => $"{s.Key}:{s.Kind}:{s.Status}:{s.Attempts}:{s.StartedAt.UtcTicks}:{s.CompletedAt?.UtcTicks}:{s.Error}";

    private static DateTimeOffset Latest(IEnumerable<StepInfo> steps, IEnumerable<StepAttemptInfo> attempts) =>
        steps.Select(s => s.CompletedAt ?? s.StartedAt)
            .Concat(attempts.Select(a => a.EndedAt ?? a.StartedAt))
            .DefaultIfEmpty(DateTimeOffset.MinValue)
            .Max();

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

/// <summary>Entries of a long timeline left out: <paramref name="Entries"/> of them from entry <paramref name="From"/>, holding <paramref name="Steps"/> steps.</summary>
public sealed record TimelineGap(int From, int Entries, int Steps);

/// <summary>A fan-out's items: counts by outcome, retries made, and the first items (failed first).</summary>
public sealed record FanOutGroup(string Prefix, int Count, int Succeeded, int Failed, int Running, int Retries, IReadOnlyList<StepInfo> Shown);
