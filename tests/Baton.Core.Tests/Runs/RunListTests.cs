using Baton.Core.Tests.Support;
using Baton.Runs;

namespace Baton.Core.Tests;

public sealed class RunListTests
{
    [Fact]
    public async Task ListRunsAsync_CreatedRange_SameRunsAsTheirCreationTimesSayAtEveryEdge()
    {
        // The client turns a creation-time filter into id bounds a minute wider (an id begins with its creation time);
        // the created_at filter still decides. Runs a second and a minute apart, filtered exactly at their creation times.
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("w", (_, i, _) => Task.FromResult(i)));
        var created = new List<(string Id, DateTimeOffset At)>();
        foreach (var step in new[] { TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(1) })
        {
            node.Time.Advance(step);
            created.Add((await node.StartRunAsync("w", 1), node.Time.GetUtcNow()));
        }

        foreach (var after in created.Select(c => (DateTimeOffset?)c.At).Append(null).Append(DateTimeOffset.MinValue))
        {
            foreach (var before in created.Select(c => (DateTimeOffset?)c.At).Append(null).Append(DateTimeOffset.MaxValue))
            {
                var page = await node.Client.ListRunsAsync(new ListRunsRequest { CreatedAfter = after, CreatedBefore = before, Limit = 500 });
                var expected = created.Where(c => (after is null || c.At >= after) && (before is null || c.At < before)).Select(c => c.Id).Reverse();
                Assert.Equal(expected, page.Runs.Select(r => r.Id));
            }
        }
    }

    [Fact]
    public void WithIdBounds_CreatedRange_BoundsAMinuteWiderAndNoneWithoutIt()
    {
        var at = new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

        var bounded = BatonClient.WithIdBounds(new ListRunsRequest { CreatedAfter = at, CreatedBefore = at.AddHours(1) });
        var open = BatonClient.WithIdBounds(new ListRunsRequest());
        var edges = BatonClient.WithIdBounds(new ListRunsRequest { CreatedAfter = DateTimeOffset.MinValue, CreatedBefore = DateTimeOffset.MaxValue });

        Assert.Equal((RunIds.LowestAt(at.AddMinutes(-1)), RunIds.LowestAt(at.AddMinutes(61))), (bounded.IdsFrom, bounded.IdsBelow));
        Assert.Equal((null, null), (open.IdsFrom, open.IdsBelow));
        Assert.Equal((RunIds.LowestAt(DateTimeOffset.UnixEpoch), RunIds.LowestAt(DateTimeOffset.MaxValue)), (edges.IdsFrom, edges.IdsBelow));
    }
}
