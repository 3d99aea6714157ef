using Baton.Storage;

namespace Baton.Testing;

/// <summary>
/// The real schedule store behind, watched: each due read asked of it is added to <paramref name="reads"/>;
/// <paramref name="afterDueRead"/> runs once, right after a due read that found some schedules; <paramref name="afterGet"/>
/// runs right after every read of one schedule, with the real store (to change the schedule between a read and a write).
/// </summary>
public sealed class WatchedScheduleStore(
    IScheduleStore inner,
    Func<Task>? afterDueRead = null,
    List<DueSchedulesRequest>? reads = null,
    Func<IScheduleStore, Task>? afterGet = null) : IScheduleStore
{
    private int _dueDone;

    public Task<UpsertScheduleResult> UpsertScheduleAsync(UpsertScheduleRequest request, CancellationToken cancellationToken = default) => inner.UpsertScheduleAsync(request, cancellationToken);

    public async Task<ScheduleRecord?> GetScheduleAsync(string name, CancellationToken cancellationToken = default)
    {
        var schedule = await inner.GetScheduleAsync(name, cancellationToken).ConfigureAwait(false);
        if (afterGet is not null)
        {
            await afterGet(inner).ConfigureAwait(false);
        }

        return schedule;
    }

    public Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(CancellationToken cancellationToken = default) => inner.ListSchedulesAsync(cancellationToken);

    public Task<bool> DeleteScheduleAsync(string name, CancellationToken cancellationToken = default) => inner.DeleteScheduleAsync(name, cancellationToken);

    public Task<ScheduleRecord?> SetScheduleEnabledAsync(SetScheduleEnabledRequest request, CancellationToken cancellationToken = default) => inner.SetScheduleEnabledAsync(request, cancellationToken);

    public Task<FireScheduleResult> FireScheduleAsync(FireScheduleRequest request, CancellationToken cancellationToken = default) => inner.FireScheduleAsync(request, cancellationToken);

    public Task<int> PruneFiresAsync(PruneFiresRequest request, CancellationToken cancellationToken = default) => inner.PruneFiresAsync(request, cancellationToken);

    public async Task<IReadOnlyList<ScheduleRecord>> GetDueSchedulesAsync(DueSchedulesRequest request, CancellationToken cancellationToken = default)
    {
        if (reads is not null)
        {
            lock (reads)
            {
                reads.Add(request);
            }
        }

        var due = await inner.GetDueSchedulesAsync(request, cancellationToken).ConfigureAwait(false);
        if (afterDueRead is not null && due.Count > 0 && Interlocked.Exchange(ref _dueDone, 1) == 0)
        {
            await afterDueRead().ConfigureAwait(false);
        }

        return due;
    }
}
