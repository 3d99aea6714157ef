using System.Diagnostics;
using System.Text.Json;
using Baton.Apps.BrandInsights.Merging;
using Baton.Apps.BrandInsights.Metrics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Baton.Apps.BrandInsights.State;

/// <summary>
/// Merges a batch of raw chunks into a brand's state in Redis, exactly once per chunk id: reads the state, the merged
/// chunk ids and the touched clusters' mention sets, merges what is new, then writes the state, the new chunk ids, the
/// new mentions and <c>summary:brand:&lt;brand&gt;</c> in one MULTI/EXEC that only applies if the state is still the one
/// read (WATCH). So the summary and the record of merged ids never disagree, and a batch run again (a retried step, a
/// redelivered batch, a second node) merges nothing twice.
/// <para>The state written keeps the batch's receipt (<see cref="BrandState.LastBatch"/>: its run and what it merged), so a
/// retry of a merge whose write applied but whose attempt was cut off (its timeout, a kill between the write and the step's
/// record) reports what that write did, rather than every chunk as a duplicate and none merged. Its metrics are counted
/// (and its dead letters logged) then, unless this process counted that batch already (the step ran again after its merge
/// returned).</para>
/// </summary>
internal sealed class BrandStateStore(Func<IDatabase> database, BrandInsightsOptions options, TimeProvider time, BrandMetrics metrics, ILogger<BrandStateStore> logger)
{
    /// <summary>Reads and writes again when another writer changed the state in between (never with one run per brand).</summary>
    private const int MaxWriteConflicts = 20;

    /// <summary>Per brand, the last batch this process counted in the metrics (a receipt of it is not counted again).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _counted = new(StringComparer.Ordinal);

    private readonly BrandMerger _merger = new(options.MergeSimilarityThreshold, options.MaxChunkSummaries);

    /// <param name="batchId">The batch's id (its run), under which the receipt is kept; null: none.</param>
    public async Task<MergeOutcome> MergeAsync(string brand, IReadOnlyList<string> rawChunks, string? batchId, CancellationToken cancellationToken)
    {
        try
        {
            return await MergeCoreAsync(brand, rawChunks, batchId, cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            metrics.RedisError("merge");
            throw;
        }
    }

    private async Task<MergeOutcome> MergeCoreAsync(string brand, IReadOnlyList<string> rawChunks, string? batchId, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var chunks = new List<ChunkResult>(rawChunks.Count);
        var invalid = new List<(string Raw, string Reason)>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var duplicatesInBatch = 0;
        foreach (var raw in rawChunks)
        {
            if (ChunkParser.Parse(raw, brand, options.MaxChunkBytes, out var reason) is not { } chunk)
            {
                invalid.Add((raw, reason!));
            }
            else if (!ids.Add(chunk.ChunkId))
            {
                duplicatesInBatch++;
            }
            else
            {
                chunks.Add(chunk);
            }
        }

        var db = database();
        var stateKey = BrandKeys.State(brand);
        var mergedKey = BrandKeys.Merged(brand);
        var chunkIds = chunks.Select(c => (RedisValue)c.ChunkId).ToArray();
        for (var conflict = 0; ; conflict++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var stateRead = db.StringGetAsync(stateKey);
            var mergedRead = chunkIds.Length == 0 ? Task.FromResult(Array.Empty<bool>()) : db.SetContainsAsync(mergedKey, chunkIds);
            var backlogRead = db.ListLengthAsync(BrandKeys.Chunks(brand));
            var failedType = invalid.Count == 0 ? Task.FromResult(RedisType.None) : db.KeyTypeAsync(BrandKeys.Failed(brand));
            await Task.WhenAll(stateRead, mergedRead, backlogRead, failedType).WaitAsync(cancellationToken);
            if (failedType.Result is not (RedisType.None or RedisType.List))
            {
                // Checked before the write: Redis would apply the rest of the MULTI/EXEC and drop the dead letters.
                throw new InvalidOperationException(
                    $"{BrandKeys.Failed(brand)} holds a {failedType.Result.ToString().ToLowerInvariant()}, not a list: this batch, which has a chunk to dead-letter, is not merged (its run fails once its retries are spent); delete the key or make it a list, then retry the run");
            }

            var oldState = stateRead.Result;
            var state = oldState.IsNull ? new BrandState() : JsonSerializer.Deserialize((byte[])oldState!, BrandStateJson.Default.BrandState)!;
            if (batchId is not null && state.LastBatch is { } last && last.RunId == batchId)
            {
                // An earlier attempt of this batch wrote; it did not live to report it (nor, unless this process says so, to count it).
                var done = last.Outcome;
                if (FirstCount(brand, batchId))
                {
                    LogRejected(brand, invalid);
                    metrics.BatchMerged(brand, done.Merged, done.Duplicates, done.Failed, Stopwatch.GetElapsedTime(started));
                }

                return done;
            }

            var alreadyMerged = mergedRead.Result;
            var fresh = chunks.Where((_, i) => !alreadyMerged[i]).ToList();
            var duplicates = duplicatesInBatch + chunks.Count - fresh.Count;
            if (fresh.Count == 0 && invalid.Count == 0)
            {
                // Nothing to write, but the duplicates are counted: before, a batch of re-pushed chunks alone counted none.
                // Once per batch, as a merge is: with no write there is no receipt, and a step run again counted them again.
                if (FirstCount(brand, batchId))
                {
                    metrics.ChunksDuplicate(brand, duplicates);
                }

                return new MergeOutcome(0, duplicates, 0, state.TotalChunks, state.TotalMentions, backlogRead.Result);
            }

            var plan = _merger.Plan(state, fresh);
            var known = await ReadKnownMentionsAsync(db, brand, plan, cancellationToken);
            var added = BrandMerger.Complete(state, plan, known);
            state.Version++;
            var outcome = new MergeOutcome(fresh.Count, duplicates, invalid.Count, state.TotalChunks, state.TotalMentions, backlogRead.Result);
            state.LastBatch = batchId is null ? null : new BatchReceipt(batchId, outcome);
            var summary = SummaryWriter.Write(brand, state, time.GetUtcNow());

            var transaction = db.CreateTransaction();
            transaction.AddCondition(oldState.IsNull ? Condition.KeyNotExists(stateKey) : Condition.StringEqual(stateKey, oldState));
            var writes = new List<Task>
            {
                transaction.StringSetAsync(stateKey, JsonSerializer.SerializeToUtf8Bytes(state, BrandStateJson.Default.BrandState)),
                options.SummaryTtl is { } ttl ? transaction.StringSetAsync(BrandKeys.Summary(brand), summary, ttl) : transaction.StringSetAsync(BrandKeys.Summary(brand), summary),
            };
            if (fresh.Count > 0)
            {
                writes.Add(transaction.SetAddAsync(mergedKey, [.. fresh.Select(c => (RedisValue)c.ChunkId)]));
            }

            foreach (var (seq, mentions) in added)
            {
                writes.Add(transaction.SetAddAsync(BrandKeys.Mentions(brand, seq), [.. mentions.Select(m => (RedisValue)m)]));
            }

            if (invalid.Count > 0)
            {
                writes.Add(transaction.ListRightPushAsync(BrandKeys.Failed(brand), [.. invalid.Select(i => (RedisValue)i.Raw)]));
            }

            if (await transaction.ExecuteAsync().WaitAsync(cancellationToken))
            {
                await Task.WhenAll(writes);
                LogRejected(brand, invalid);
                metrics.BatchMerged(brand, fresh.Count, duplicates, invalid.Count, Stopwatch.GetElapsedTime(started));
                if (batchId is not null)
                {
                    _counted[brand] = batchId;
                }

                return outcome;
            }

            if (conflict >= MaxWriteConflicts)
            {
                throw new InvalidOperationException($"the state of brand '{brand}' changed under {MaxWriteConflicts} merges in a row");
            }

            Log.WriteConflict(logger, brand);
        }
    }

    /// <summary>
    /// Logs the chunks a write dead-lettered, when it is counted: once it applied, so a merge refused or run again does not
    /// log them again. Before, they were logged while parsing, at every attempt, written or not.
    /// </summary>
    private void LogRejected(string brand, List<(string Raw, string Reason)> invalid)
    {
        foreach (var (_, reason) in invalid)
        {
            Log.ChunkRejected(logger, brand, reason);
        }
    }

    /// <summary>
    /// Whether this process has not counted batch <paramref name="batchId"/> of <paramref name="brand"/> yet (always for
    /// no batch id); notes it as counted.
    /// </summary>
    private bool FirstCount(string brand, string? batchId)
    {
        if (batchId is null)
        {
            return true;
        }

        if (_counted.TryGetValue(brand, out var counted) && counted == batchId)
        {
            return false;
        }

        _counted[brand] = batchId;
        return true;
    }

    private static async Task<Dictionary<long, bool[]>> ReadKnownMentionsAsync(IDatabase db, string brand, MergePlan plan, CancellationToken cancellationToken)
    {
        var reads = plan.EarlierClusterMentions.ToDictionary(
            p => p.Key,
            p => db.SetContainsAsync(BrandKeys.Mentions(brand, p.Key), [.. p.Value.Select(m => (RedisValue)m)]));
        await Task.WhenAll(reads.Values).WaitAsync(cancellationToken);
        return reads.ToDictionary(r => r.Key, r => r.Value.Result);
    }
}
