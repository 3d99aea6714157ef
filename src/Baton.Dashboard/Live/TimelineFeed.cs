using Baton.Dashboard.Components;
using Baton.Dashboard.Pages;
using Baton.Runs;

namespace Baton.Dashboard.Live;

/// <summary>
/// The run page's timeline as changes, for one live stream. It remembers each entry's fingerprint and, per read,
/// renders (with the same component as the page) only the entries that are new or changed, at most
/// <see cref="MaxEntriesPerEvent"/> at a time. The page is rendered before the stream opens: on the first read, entries
/// last active before the page's render time (less <see cref="RenderSlack"/>) are taken as already shown.
/// </summary>
internal sealed class TimelineFeed(ComponentHtml html, DateTimeOffset? renderedAt)
{
    /// <summary>The most entries one event carries; the rest follow on the next reads.</summary>
    public const int MaxEntriesPerEvent = 100;

    /// <summary>How many steps make one more tick between two reads of the timeline: a run with 5,000 steps is read every 11 s.</summary>
    public const int StepsPerTick = 500;

    /// <summary>Allowance for a step that changed while the page was rendering.</summary>
    public static readonly TimeSpan RenderSlack = TimeSpan.FromSeconds(2);

    private readonly Dictionary<string, string> _shown = new(StringComparer.Ordinal);
    private bool _first = true;
    private int _ticksLeft;

    /// <summary>True when this tick should read the steps: every tick for small runs, less often for runs with many steps.</summary>
    public bool Due()
    {
        if (_ticksLeft > 0)
        {
            _ticksLeft--;
            return false;
        }

        return true;
    }

    /// <summary>
    /// After <see cref="ChangesAsync"/>: the keys of every entry of a windowed timeline (one with a gap row, over
    /// <see cref="TimelineEntry.MaxShown"/> entries), in order, or null. The page removes the rows it has that are not
    /// among them: entries that slid into the gap as the run grew, and gap rows that merged. Before, a page left open on a
    /// long run kept every row it was ever sent (1,172 rows beside a gap row saying 672 were hidden).
    /// </summary>
    public IReadOnlyList<string>? Window { get; private set; }

    /// <summary>The new or changed entries of <paramref name="details"/>, in timeline order, each with the key of the entry before it.</summary>
    public async Task<IReadOnlyList<TimelineChange>> ChangesAsync(RunDetails details)
    {
        _ticksLeft = details.Steps.Count / StepsPerTick;
        var entries = TimelineEntry.Build(details);
        Window = entries.Any(e => e.Gap is not null) ? [.. entries.Select(e => e.Key)] : null;
        if (Window is not null)
        {
            // Keys left the window: forgotten, so one that comes back (a step running again) is sent again.
            var kept = new HashSet<string>(Window, StringComparer.Ordinal);
            foreach (var key in _shown.Keys.Where(k => !kept.Contains(k)).ToList())
            {
                _shown.Remove(key);
            }
        }

        var changes = new List<TimelineChange>();
        string? previous = null;
        foreach (var entry in entries)
        {
            var key = entry.Key;
            var fingerprint = entry.Fingerprint;
            var known = _shown.TryGetValue(key, out var shown);
            if (_first && !known && renderedAt is { } at && entry.LastActivity < at - RenderSlack)
            {
                _shown[key] = fingerprint;
            }
            else if ((!known || shown != fingerprint) && changes.Count < MaxEntriesPerEvent)
            {
                changes.Add(new TimelineChange(key, previous, await RenderAsync(entry)));
                _shown[key] = fingerprint;
            }

            previous = key;
        }

        if (changes.Count == MaxEntriesPerEvent)
        {
            // More may be waiting: read again on the next tick.
            _ticksLeft = 0;
        }

        _first = false;
        return changes;
    }

    private Task<string> RenderAsync(TimelineEntry entry) =>
        html.RenderAsync<TimelineEntryRows>(nameof(TimelineEntryRows.Entry), entry);
}

/// <summary>One entry of the timeline to insert (after <see cref="After"/>, or first when null) or replace: its <c>tbody</c> as HTML.</summary>
internal sealed record TimelineChange(string Key, string? After, string Html);
