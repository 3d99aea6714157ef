using Baton.Runs;
using Baton.Steps;

namespace Baton.FanOut;

/// <summary>Fan-outs of one execution: checks the items and their keys and feeds them to a <see cref="FanOutBatch{TItem, TResult}"/>.</summary>
internal sealed class ForEachRunner(ExecutionState state, StepRunner steps)
{
    public async Task<IReadOnlyList<ItemResult<TResult>>> ForEachAsync<TItem, TResult>(
        string name,
        IReadOnlyList<TItem> items,
        Func<TItem, string> keySelector,
        Func<TItem, CancellationToken, Task<TResult>> work,
        ForEachOptions? options,
        Func<TItem, TResult, CancellationToken, Task>? compensate,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        var (prefix, call, checkedOptions) = Begin(name, keySelector, work, options);
        var keys = items.Select(item => $"{prefix}/{keySelector(item)}").ToArray();
        if (keys.FirstOrDefault(StoredText.NamesNothing) is { } notText)
        {
            throw new ArgumentException(KeyError(name, notText), nameof(keySelector));
        }

        if (keys.Distinct(StringComparer.Ordinal).Count() != keys.Length)
        {
            throw new ArgumentException($"fan-out '{name}' has duplicate item keys", nameof(keySelector));
        }

        foreach (var key in keys)
        {
            state.TakeItemKey(name, key);
        }

        var batch = new FanOutBatch<TItem, TResult>(state, steps, prefix, call, work, checkedOptions, compensate, cancellationToken);
        state.Active.Progress.Set($"{prefix}.total", items.Count);
        try
        {
            // Each item is handed to the batch once there is room for it, as for items listed over time: before, every
            // item of the list was handed over at once, each with a task waiting for a slot.
            for (var i = 0; i < items.Count; i++)
            {
                await batch.WaitForRoomAsync().ConfigureAwait(false);
                batch.Add(keys[i], items[i]);
            }
        }
        catch (OperationCanceledException) when (batch.StopToken.IsCancellationRequested)
        {
            // An item failed the fan-out, or the run is stopping: finishing reports which.
            await batch.FinishAsync().ConfigureAwait(false);
            throw;
        }

        return await batch.FinishAsync().ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ItemResult<TResult>>> ForEachAsync<TItem, TResult>(
        string name,
        IAsyncEnumerable<TItem> items,
        Func<TItem, string> keySelector,
        Func<TItem, CancellationToken, Task<TResult>> work,
        ForEachOptions? options,
        Func<TItem, TResult, CancellationToken, Task>? compensate,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        var (prefix, call, checkedOptions) = Begin(name, keySelector, work, options);
        var batch = new FanOutBatch<TItem, TResult>(state, steps, prefix, call, work, checkedOptions, compensate, cancellationToken);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var totalCounter = $"{prefix}.total";
        // Until the listing ends, the total is at least what an earlier execution had listed (stored with the run's
        // progress): a resumed run's total fell from 19 to the 12 items done while its listing started again.
        var listedBefore = state.Active.Progress.Get(totalCounter);
        batch.CountEarlierItems();
        state.Active.Progress.Set(totalCounter, Math.Max(listedBefore, batch.EarlierItemsNotListed));
        try
        {
            var listing = items.GetAsyncEnumerator(batch.StopToken);
            await using var listingDisposal = listing.ConfigureAwait(false);
            while (true)
            {
                // Room for the next item before it is listed: the listing keeps pace with the items (see WaitForRoomAsync).
                await batch.WaitForRoomAsync().ConfigureAwait(false);
                if (!await listing.MoveNextAsync().ConfigureAwait(false))
                {
                    break;
                }

                // A listing that does not take the token (an async iterator without [EnumeratorCancellation]) is read no
                // further once the fan-out stops: before, it was read to its end (a whole download) before the run could end.
                batch.StopToken.ThrowIfCancellationRequested();
                var item = listing.Current;
                var key = $"{prefix}/{keySelector(item)}";
                if (StoredText.NamesNothing(key))
                {
                    throw new ArgumentException(KeyError(name, key), nameof(keySelector));
                }

                if (!keys.Add(key))
                {
                    throw new ArgumentException($"fan-out '{name}' has duplicate item keys ({key})", nameof(keySelector));
                }

                state.TakeItemKey(name, key);

                batch.Add(key, item);
                state.Active.Progress.Set(totalCounter, Math.Max(listedBefore, keys.Count + batch.EarlierItemsNotListed));
            }

            batch.ForgetEarlierItemsNotListed();
            state.Active.Progress.Set(totalCounter, keys.Count);
        }
        catch (OperationCanceledException) when (batch.StopToken.IsCancellationRequested)
        {
            // An item failed the fan-out, or the run is stopping: finishing reports which. If every item
            // added so far ended well, the list was still cut short, and the cancellation goes up.
            await batch.FinishAsync().ConfigureAwait(false);
            throw;
        }
        catch
        {
            // The items cannot be listed to the end: stop the ones started and let them unwind before the error goes up.
            await batch.AbandonAsync().ConfigureAwait(false);
            throw;
        }

        return await batch.FinishAsync().ConfigureAwait(false);
    }

    // Refused on every store alike: PostgreSQL text cannot hold U+0000.
    /// <summary>Why an item key no store can hold is refused (PostgreSQL's text cannot hold either, and its driver threw).</summary>
    private static string KeyError(string name, string key) => StoredText.HasNul(key)
        ? $"fan-out '{name}' has an item key holding the character U+0000"
        : $"fan-out '{name}' has an item key holding " + StoredText.HalfSurrogatePair;

    /// <summary>Checks a fan-out's arguments and takes its key prefix.</summary>
    private (string Prefix, long Call, ForEachOptions Options) Begin<TItem, TResult>(
        string name, Func<TItem, string> keySelector, Func<TItem, CancellationToken, Task<TResult>> work, ForEachOptions? options)
    {
        ArgumentNullException.ThrowIfNull(keySelector);
        ArgumentNullException.ThrowIfNull(work);
        options ??= new ForEachOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxParallelism, 1);
        var prefix = state.NextUserKey(name, out var call);
        state.TakeFanOutKey(prefix);
        return (prefix, call, options);
    }
}
