using Baton.Runs;

namespace Baton.Core.Tests;

public sealed class RunIdsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, 123, TimeSpan.Zero);
    private readonly RunIds _ids = new();

    [Fact]
    public void New_IsAVersion7UuidInLowerCaseHex_WithTheTimeInFront()
    {
        var id = _ids.New(Now);

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
            Assert.True(ids.Add(_ids.New(Now)), $"id {i} repeated");
        }
    }

    [Fact]
    public void New_OnSeveralThreadsAtOnce_AllDistinct()
    {
        var perThread = new string[4][];
        Parallel.For(0, perThread.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            perThread[t] = Enumerable.Range(0, 20_000).Select(_ => _ids.New(Now)).ToArray();
        });

        var all = perThread.SelectMany(ids => ids).ToList();
        Assert.Equal(all.Count, all.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void New_EveryRandomDigit_TakesEveryValue()
    {
        // Positions 13-15 start each millisecond's counter at a random value (one id per millisecond here, so
        // every id starts one) and 17-31 are random, 16 holds the variant (8-b); a digit stuck at one value
        // (a buffer read past its end, a nibble taken twice) shows up here. 13 holds the counter's top bit,
        // which a seed leaves at 0.
        var seen = new HashSet<char>[32];
        for (var i = 0; i < seen.Length; i++)
        {
            seen[i] = [];
        }

        for (var n = 0; n < 5_000; n++)
        {
            var id = _ids.New(Now.AddMilliseconds(n));
            for (var i = 0; i < id.Length; i++)
            {
                seen[i].Add(id[i]);
            }
        }

        for (var i = 13; i < 32; i++)
        {
            var expected = i switch { 13 => "01234567", 16 => "89ab", _ => "0123456789abcdef" };
            Assert.True(expected.All(seen[i].Contains) && seen[i].Count == expected.Length, $"digit {i}: {string.Concat(seen[i].Order())}");
        }
    }

    [Fact]
    public void New_SortsByCreationTime_AndLowestAtBoundsEachMillisecond()
    {
        var later = Now.AddMilliseconds(1);
        var early = _ids.New(Now);
        var late = _ids.New(later);

        Assert.True(string.CompareOrdinal(early, late) < 0);
        Assert.True(string.CompareOrdinal(RunIds.LowestAt(Now), early) <= 0);
        Assert.True(string.CompareOrdinal(early, RunIds.LowestAt(later)) < 0);
        Assert.True(string.CompareOrdinal(RunIds.LowestAt(later), late) <= 0);
    }

    [Fact]
    public void New_ManyInOneMillisecond_SortInTheOrderTheyWereMade()
    {
        var at = Now;
        var ids = Enumerable.Range(0, 2_048).Select(_ => _ids.New(at)).ToList();

        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        Assert.All(ids, id => Assert.Equal(at.ToUnixTimeMilliseconds(), Convert.ToInt64(id[..12], 16)));
    }

    [Fact]
    public void New_OnSeveralThreadsInOneMillisecond_EachThreadsIdsSortInOrder()
    {
        var at = Now;
        var perThread = new string[4][];
        Parallel.For(0, perThread.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            perThread[t] = Enumerable.Range(0, 500).Select(_ => _ids.New(at)).ToArray();
        });

        Assert.All(perThread, ids => Assert.Equal(ids.Order(StringComparer.Ordinal), ids));
        Assert.Equal(2_000, perThread.SelectMany(ids => ids).Distinct(StringComparer.Ordinal).Count());
    }
}
