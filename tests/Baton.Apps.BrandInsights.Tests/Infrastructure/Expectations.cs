using Baton.Simulators.BrandWorkers;
using StackExchange.Redis;

namespace Baton.Apps.BrandInsights.Tests.Infrastructure;

/// <summary>Checks the summaries in Redis against the brand-workers simulator's own computation of the merge rules.</summary>
internal static class Expectations
{
    /// <summary>Per brand: the first difference between <c>summary:brand:&lt;brand&gt;</c> and the expected summary, or null when they match.</summary>
    public static async Task<Dictionary<string, string?>> DifferencesAsync(IDatabase db, BrandChunkGenerator generator)
    {
        var differences = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (brand, expected) in BrandWorkersSimulator.Expected(generator))
        {
            var stored = await db.StringGetAsync(BrandKeys.Summary(brand));
            // The app keeps the latest chunk summaries only (its README); everything else is the simulator's own computation.
            var latest = expected with { ChunkSummaries = [.. expected.ChunkSummaries.TakeLast(new BrandInsightsOptions().MaxChunkSummaries)] };
            differences[brand] = stored.IsNull ? "no summary" : BrandSummaryComparer.FirstDifference(latest, (string)stored!);
        }

        return differences;
    }

    /// <summary>
    /// Polls until every brand's summary matches, failing with the differences left when the timeout passes or as soon as
    /// a brand's summary can no longer change: every valid chunk of it merged (its merged-id set is written in the same
    /// transaction as its summary), so a difference then is final and waiting longer would only delay the failure.
    /// </summary>
    public static async Task WaitUntilAllMatchAsync(IDatabase db, BrandChunkGenerator generator, TimeSpan timeout)
    {
        var validCount = generator.Pushes().Where(p => p.Kind == ChunkKind.Valid)
            .GroupBy(p => p.Brand, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(p => p.ChunkId).Distinct(StringComparer.Ordinal).Count(), StringComparer.Ordinal);
        async Task<(Dictionary<string, string?> Differences, List<string> Final)> StateAsync()
        {
            // The merged-id sets first, then the summaries: a brand whose set was complete before its summary was read has
            // that summary final. (Read the other way round, a merge between the two reads made a stale summary look final.)
            var complete = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (brand, count) in validCount)
            {
                if (await db.SetLengthAsync(BrandKeys.Merged(brand)) >= count)
                {
                    complete.Add(brand);
                }
            }

            var differences = await DifferencesAsync(db, generator);
            return (differences, [.. differences.Where(d => d.Value is not null && complete.Contains(d.Key)).Select(d => d.Key)]);
        }

        (Dictionary<string, string?> Differences, List<string> Final) state;
        try
        {
            state = await Poll.UntilAsync(StateAsync, s => s.Final.Count > 0 || s.Differences.Values.All(v => v is null), "every summary", timeout, TimeSpan.FromMilliseconds(250));
        }
        catch (TimeoutException)
        {
            var left = (await DifferencesAsync(db, generator)).Where(d => d.Value is not null).Select(d => $"{d.Key}: {d.Value}");
            Assert.Fail($"after {timeout.TotalSeconds} s these summaries still differ from the simulator's:\n{string.Join('\n', left)}");
            return;
        }

        if (state.Final.Count > 0)
        {
            var wrong = state.Final.Select(b => $"{b}: {state.Differences[b]}");
            Assert.Fail($"every valid chunk of these brands is merged, and their summaries differ from the simulator's:\n{string.Join('\n', wrong)}");
        }
    }

    /// <summary>
    /// After the summaries match: each brand's merged chunk ids are exactly its distinct valid chunks (none merged twice,
    /// none lost), its bad payloads are all on <c>failed:brand:&lt;brand&gt;</c>, raw, and its chunk list is empty.
    /// </summary>
    public static async Task AssertExactlyOnceAsync(IDatabase db, BrandChunkGenerator generator)
    {
        var pushes = generator.Pushes().ToList();
        foreach (var brand in generator.BrandNames)
        {
            var valid = pushes.Where(p => p.Brand == brand && p.Kind == ChunkKind.Valid).Select(p => p.ChunkId).ToHashSet(StringComparer.Ordinal);
            var bad = pushes.Where(p => p.Brand == brand && p.Kind == ChunkKind.Bad).Select(p => p.Payload).Order(StringComparer.Ordinal).ToList();
            var merged = (await db.SetMembersAsync(BrandKeys.Merged(brand))).Select(v => (string)v!).ToHashSet(StringComparer.Ordinal);
            var failed = (await db.ListRangeAsync(BrandKeys.Failed(brand))).Select(v => (string)v!).Order(StringComparer.Ordinal).ToList();

            Assert.True(valid.SetEquals(merged), $"{brand}: {valid.Count} valid chunks, {merged.Count} merged ids");
            Assert.Equal(bad, failed);
            Assert.Equal(0, await db.ListLengthAsync(BrandKeys.Chunks(brand)));
        }
    }
}
