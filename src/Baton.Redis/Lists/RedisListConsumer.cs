using Baton.Inbox;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Baton.Redis;

/// <summary>
/// One step on one list: take a batch (what the processing list still holds, else up to BatchSize items moved from the
/// source), map it, hand it to the inbox, and remove it from the processing list only once every message is stored
/// (Created or Duplicate) or dead-lettered. A conflict or a failure leaves the batch where it is for the next step.
/// </summary>
internal sealed class RedisListConsumer(
    string trigger,
    RedisListTriggerOptions options,
    RedisListKeys keys,
    IRedisConnection redis,
    IBatonInbox inbox,
    RedisListMetrics metrics,
    OutageGate outage,
    ILogger logger)
{
    /// <summary>
    /// How long an acknowledgement record lasts: longer than any pause or outage a process lives through between an
    /// acknowledgement and its next take, so an unanswered one is never taken for one that did not run.
    /// </summary>
    private static readonly TimeSpan AckedTimeToLive = TimeSpan.FromDays(1);

    private readonly KeyValuePair<string, object?> _tag = new("trigger", trigger);

    public async Task<StepResult> StepAsync(ListState state, CancellationToken cancellationToken)
    {
        if (!await SettleUnansweredAckAsync(state).ConfigureAwait(false))
        {
            return StepResult.Failed;
        }

        var processing = keys.Processing(state.Key);
        var lease = options.ListLease?.Invoke(state.Key);
        RedisKey[] takeKeys = lease is null ? [state.Key, processing, keys.OwnLists] : [state.Key, processing, keys.OwnLists, lease];
        var taken = await RedisAsync(
            state,
            () => redis.Database.ScriptEvaluateAsync(RedisListScripts.Take, takeKeys, [options.BatchSize, keys.ConsumerId])).ConfigureAwait(false);
        if (taken is null)
        {
            return StepResult.Failed;
        }

        var parts = (RedisResult[])taken!;
        var leaseRefused = (int)parts[0] == 2;
        var rawItems = leaseRefused ? [] : (RedisValue[])parts[1]!;
        var items = Array.ConvertAll(rawItems, v => (string)v!);
        // The id covers every item taken, so it is the same whenever the same items are offered again.
        var batchId = items.Length == 0 ? null : DefaultListMapper.BatchId(state.Key, items);
        if (leaseRefused)
        {
            if (!state.LeaseRefused)
            {
                state.LeaseRefused = true;
                Log.LeaseNotHeld(logger, trigger, state.Key, lease!);
            }

            return StepResult.Empty;
        }

        state.LeaseRefused = false;
        if (batchId is null)
        {
            return StepResult.Empty;
        }

        if ((int)parts[0] == 1)
        {
            if (!state.HoldsBatch)
            {
                Log.ProcessingReoffered(logger, trigger, state.Key, items.Length);
            }
        }
        else
        {
            metrics.ItemsMoved.Add(items.Length, _tag);
        }

        RejectedItem[] tooLarge;
        MappedBatch mapped;
        if (state.HeldMapping is { } held && held.BatchId == batchId)
        {
            // The same items in the same order (the id hashes them): the first offer's strings, which the rejects refer to.
            (items, tooLarge, mapped) = (held.Items, held.TooLarge, held.Mapped);
        }
        else
        {
            (tooLarge, mapped) = Map(state.Key, items, batchId);
        }

        state.HeldMapping = null;
        var dead = new List<RejectedItem>(tooLarge);
        dead.AddRange(mapped.Plan.Rejected);
        var messages = mapped.Plan.Messages;
        var conflict = false;
        try
        {
            for (var start = 0; start < messages.Count; start += InboxLimits.MaxBatchSize)
            {
                var chunk = messages.Skip(start).Take(InboxLimits.MaxBatchSize).ToList();
                var results = await inbox.AcceptManyAsync(chunk, cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < results.Count; i++)
                {
                    if (results[i].Outcome == InboxOutcome.Conflict)
                    {
                        conflict = true;
                    }
                    else if (results[i].Outcome == InboxOutcome.Rejected)
                    {
                        var message = chunk[i];
                        var reason = $"the inbox refused it: {results[i].Reason}";
                        if (mapped.Plan.ItemsOfMessages is { } carried && start + i < carried.Count)
                        {
                            // The items raw, as the mapper's own rejects are, not the message that wrapped them.
                            dead.AddRange(carried[start + i].Select(item => new RejectedItem(item, reason)));
                            continue;
                        }

                        var raw = mapped.ItemOfMessage?[start + i] ?? message.Input?.GetRawText() ?? message.MessageId;
                        dead.Add(new RejectedItem(raw, reason));
                    }
                }
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            metrics.Errors.Add(1, _tag);
            if (!state.Faulted)
            {
                state.Faulted = true;
                Log.InboxFailed(logger, ex, trigger, state.Key);
            }

            state.HoldsBatch = true;
            return StepResult.Failed;
        }

        if (conflict)
        {
            metrics.BatchesConflicted.Add(1, _tag);
            state.HoldsBatch = true;
            state.HeldMapping = (batchId, items, tooLarge, mapped);
            return StepResult.Conflict;
        }

        var deadLetterKey = options.DeadLetterKey(state.Key);
        var token = Guid.NewGuid().ToString("N");
        RedisValue[] arguments = [items.Length, token, (long)AckedTimeToLive.TotalMilliseconds, .. dead.Select(d => RawOf(d, items, rawItems))];
        var acked = await RedisAsync(state, () => AckAsync(processing, deadLetterKey, keys.Acked(state.Key), arguments)).ConfigureAwait(false);
        if (acked is null)
        {
            // Redis may have carried it out with the reply lost: its record tells before the next take (UnansweredAck).
            state.UnansweredAck = dead.Count > 0 ? (token, dead) : null;
            state.HoldsBatch = true;
            return StepResult.Failed;
        }

        DeadLettered(state.Key, deadLetterKey, dead);
        metrics.BatchesAccepted.Add(1, _tag);
        state.Faulted = state.HoldsBatch = false;
        return StepResult.Worked;
    }

    /// <summary>
    /// Settles an acknowledgement whose reply was lost (<see cref="ListState.UnansweredAck"/>): its record holds its token
    /// if and only if Redis carried it out, and then its dead letters are logged and counted now. Before, an empty
    /// processing list was read as carried out, but another process's recovery (after this one's heartbeat expired in a
    /// pause) also empties it: the dead letters were counted then and again when dead-lettered anew. False: Redis failed.
    /// </summary>
    private async Task<bool> SettleUnansweredAckAsync(ListState state)
    {
        if (state.UnansweredAck is not { } unanswered)
        {
            return true;
        }

        var recorded = await RedisAsync(state, () => redis.Database.ExecuteAsync("GET", keys.Acked(state.Key))).ConfigureAwait(false);
        if (recorded is null)
        {
            return false;
        }

        state.UnansweredAck = null;
        if ((string?)recorded == unanswered.Token)
        {
            DeadLettered(state.Key, options.DeadLetterKey(state.Key), unanswered.Dead);
        }

        return true;
    }

    /// <summary>Logs and counts items the acknowledgement pushed onto the dead-letter list, and tells <see cref="RedisListTriggerOptions.DeadLettered"/>.</summary>
    private void DeadLettered(string listKey, string deadLetterKey, List<RejectedItem> dead)
    {
        foreach (var item in dead)
        {
            Log.ItemDeadLettered(logger, trigger, listKey, deadLetterKey, item.Reason);
        }

        metrics.ItemsDeadLettered.Add(dead.Count, _tag);
        if (dead.Count > 0 && options.DeadLettered is { } deadLettered)
        {
            deadLettered(listKey, dead);
        }
    }

    /// <summary>
    /// A dead item as it was pushed: an item that is not UTF-8 was read as text with U+FFFD in place of its bytes, so the
    /// item a mapper rejects (the same string instance) is matched back to its bytes. Before, the replaced text was pushed.
    /// A search per dead item, not a map built per batch: most batches have none.
    /// </summary>
    private static RedisValue RawOf(RejectedItem dead, string[] items, RedisValue[] rawItems)
    {
        for (var i = 0; i < items.Length; i++)
        {
            if (ReferenceEquals(items[i], dead.Item))
            {
                return rawItems[i];
            }
        }

        return dead.Item;
    }

    private async Task<RedisResult> AckAsync(RedisKey processing, RedisKey deadLetterKey, RedisKey acked, RedisValue[] arguments)
    {
        try
        {
            return await redis.Database.ScriptEvaluateAsync(RedisListScripts.Ack, [processing, deadLetterKey, acked], arguments).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.Contains("WRONGTYPE", StringComparison.Ordinal))
        {
            // Name the key at fault: the script's own error named none, and the log named the (good) list being read. The batch
            // stays held (nothing is lost) until the key is a list again or deleted.
            var type = await redis.Database.KeyTypeAsync(deadLetterKey).ConfigureAwait(false);
            if (type is RedisType.List or RedisType.None)
            {
                throw;
            }

            throw new DeadLetterKeyTypeException(
                $"the dead-letter key {deadLetterKey} holds a {type.ToString().ToLowerInvariant()}, not a list: no batch of this list is acknowledged "
                + "until that key is deleted or made a list",
                ex);
        }
    }

    private sealed class DeadLetterKeyTypeException(string message, Exception inner) : Exception(message, inner);

    /// <summary>Sets aside the items over the size limit and maps the rest (a mapper that throws rejects them all).</summary>
    private (RejectedItem[] TooLarge, MappedBatch Mapped) Map(string listKey, string[] items, string batchId)
    {
        var tooLarge = Array.Empty<RejectedItem>();
        var fitting = items;
        if (options.MaxItemBytes > 0 && items.Any(TooLarge))
        {
            tooLarge = [.. items.Where(TooLarge).Select(i => new RejectedItem(
                i, $"the item has {System.Text.Encoding.UTF8.GetByteCount(i)} bytes, more than MaxItemBytes {options.MaxItemBytes}"))];
            fitting = [.. items.Where(i => !TooLarge(i))];
        }

        var batch = new RedisListBatch(listKey, fitting, batchId);
        try
        {
            return (tooLarge, fitting.Length == 0 ? new MappedBatch(new RedisBatchPlan([], []), [])
                : options.Map is { } map ? new MappedBatch(map(batch), null)
                : DefaultListMapper.Map(batch, options.Workflow!));
        }
        catch (Exception ex)
        {
            Log.MapperFailed(logger, ex, trigger, listKey);
            return (tooLarge, new MappedBatch(new RedisBatchPlan([], [.. fitting.Select(i => new RejectedItem(i, $"the mapper failed: {ex.GetType().Name}"))]), null));
        }
    }

    private bool TooLarge(string item) =>
        item.Length > options.MaxItemBytes / 3 && System.Text.Encoding.UTF8.GetByteCount(item) > options.MaxItemBytes;

    /// <summary>
    /// Pushes what this consumer's processing list of a removed list still holds back onto the head of the list, and
    /// settles an acknowledgement whose reply was lost (the list can be removed before the next take would).
    /// </summary>
    public async Task<StepResult> ReleaseAsync(ListState state)
    {
        if (!await SettleUnansweredAckAsync(state).ConfigureAwait(false))
        {
            return StepResult.Failed;
        }

        var returned = await RedisAsync(
            state,
            async () =>
            {
                var moved = await redis.Database.ScriptEvaluateAsync(RedisListScripts.Return, [keys.Processing(state.Key), state.Key]).ConfigureAwait(false);
                await redis.Database.KeyDeleteAsync(keys.Acked(state.Key)).ConfigureAwait(false);
                await redis.Database.SetRemoveAsync(keys.OwnLists, state.Key).ConfigureAwait(false);
                return moved;
            }).ConfigureAwait(false);
        return returned is null ? StepResult.Failed : StepResult.Released;
    }

    /// <summary>Runs a Redis call; an outage is logged once by the gate, any other server error once per list; null means it failed.</summary>
    private async Task<RedisResult?> RedisAsync(ListState state, Func<Task<RedisResult>> call)
    {
        try
        {
            var result = await call().ConfigureAwait(false);
            outage.Succeeded();
            return result;
        }
        catch (Exception ex) when (OutageGate.IsOutage(ex))
        {
            metrics.Errors.Add(1, _tag);
            outage.Failed(ex);
            return null;
        }
        catch (Exception ex) when (ex is RedisServerException or DeadLetterKeyTypeException)
        {
            metrics.Errors.Add(1, _tag);
            if (!state.Faulted)
            {
                state.Faulted = true;
                Log.ListFailed(logger, ex, trigger, state.Key);
            }

            return null;
        }
    }
}
