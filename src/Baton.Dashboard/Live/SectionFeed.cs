using Baton.Dashboard.Components;
using Baton.Runs;

namespace Baton.Dashboard.Live;

/// <summary>
/// The run page's children and events tables for one live stream: each is sent whole (<c>&lt;section
/// data-section=...&gt;</c>) when what it shows changed. Children are at most the first 500 (the engine's bound).
/// A section that is empty on the first read is taken as shown (the page rendered it empty or will render it again
/// when the run ends); a non-empty one is sent once, as the page cannot say which version it showed.
/// </summary>
internal sealed class SectionFeed(ComponentHtml html)
{
    private string? _children;
    private string? _events;

    public async Task<IReadOnlyList<SectionChange>> ChangesAsync(RunDetails details)
    {
        var changes = new List<SectionChange>(2);
        var children = RunChildren.Fingerprint(details.Children);
        if (children != (_children ?? ""))
        {
            changes.Add(new SectionChange("children", await html.RenderAsync<RunChildren>(new Dictionary<string, object?>
            {
                [nameof(RunChildren.Children)] = details.Children, [nameof(RunChildren.ParentRunId)] = details.Run.Id,
                [nameof(RunChildren.More)] = details.ChildrenNextCursor is not null,
            })));
        }

        var events = RunEvents.Fingerprint(details.Events);
        if (events != (_events ?? ""))
        {
            changes.Add(new SectionChange("events", await html.RenderAsync<RunEvents>(nameof(RunEvents.Events), details.Events)));
        }

        _children = children;
        _events = events;
        return changes;
    }
}

/// <summary>A section of the run page to replace: its <c>section</c> element as HTML.</summary>
internal sealed record SectionChange(string Id, string Html);
