using Baton.Runs;

namespace Baton.Core.Tests;

public sealed class RunIdsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, 123, TimeSpan.Zero);

    [Fact]
    public void New_IsAVersion7UuidInLowerCaseHex_WithTheTimeInFront()
    {
        var id = RunIds.New(Now);

        Assert.Matches("^[0-9a-f]{32}$", id);
        var guid = Guid.ParseExact(id, "N");
        Assert.Equal(7, guid.Version);
        Assert.Equal(0b10, guid.Variant >> 2);
        Assert.Equal(Now.ToUnixTimeMilliseconds(), Convert.ToInt64(id[..12], 16));
    }

    [Fact]
    public void New_ManyMoreThanOneBufferOfRandomness_AllDistinct()
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 100_000; i++)
        {
            Assert.True(ids.Add(RunIds.New(Now)), $"id {i} repeated");
        }
    }

    [Fact]
    public void New_OnSeveralThreadsAtOnce_AllDistinct()
    {
        var perThread = new string[4][];
        Parallel.For(0, perThread.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            perThread[t] = Enumerable.Range(0, 20_000).Select(_ => RunIds.New(Now)).ToArray();
        });

        var all = perThread.SelectMany(ids => ids).ToList();
        Assert.Equal(all.Count, all.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void New_EveryRandomDigit_TakesEveryValue()
    {
        // Positions 13-15 and 17-31 are random, 16 holds the variant (8-b); a digit stuck at one value
        // (a buffer read past its end, a nibble taken twice) shows up here.
        var seen = new HashSet<char>[32];
        for (var i = 0; i < seen.Length; i++)
        {
            seen[i] = [];
        }

        for (var n = 0; n < 5_000; n++)
        {
            var id = RunIds.New(Now);
            for (var i = 0; i < id.Length; i++)
            {
                seen[i].Add(id[i]);
            }
        }

        for (var i = 13; i < 32; i++)
        {
            var expected = i == 16 ? "89ab" : "0123456789abcdef";
            Assert.True(expected.All(seen[i].Contains) && seen[i].Count == expected.Length, $"digit {i}: {string.Concat(seen[i].Order())}");
        }
    }

    [Fact]
    public void New_SortsByCreationTime_AndLowestAtBoundsEachMillisecond()
    {
        var later = Now.AddMilliseconds(1);
        var early = RunIds.New(Now);
        var late = RunIds.New(later);

        Assert.True(string.CompareOrdinal(early, late) < 0);
        Assert.True(string.CompareOrdinal(RunIds.LowestAt(Now), early) <= 0);
        Assert.True(string.CompareOrdinal(early, RunIds.LowestAt(later)) < 0);
        Assert.True(string.CompareOrdinal(RunIds.LowestAt(later), late) <= 0);
    }
}
