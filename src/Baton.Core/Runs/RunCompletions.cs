using System.Collections.Concurrent;
using Baton.Workers;

namespace Baton.Runs;

/// <summary>
/// Serves <see cref="IRunCompletions"/> from the worker's end-of-execution signal: a waiter registers before it reads
/// the run, so an end between the read and the wait is not missed; the signal of an execution that only suspended the
/// run makes the waiter read it once more and wait again.
/// </summary>
internal sealed class RunCompletions : IRunCompletions
{
    private static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(1);
    private readonly ConcurrentDictionary<string, List<TaskCompletionSource>> _waiters = new(StringComparer.Ordinal);
    private readonly EngineServices _engine;

    public RunCompletions(Worker worker, EngineServices engine)
    {
        _engine = engine;
        worker.ExecutionEnded += OnExecutionEnded;
    }

    public async Task<RunInfo?> WaitForEndAsync(string runId, TimeSpan? pollInterval = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        var interval = pollInterval ?? DefaultPollInterval;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero, nameof(pollInterval));
        while (true)
        {
            var (signal, waiters) = Register(runId);
            try
            {
                var run = await _engine.Runs.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
                if (run is null || run.Status.IsTerminal())
                {
                    return run?.ToInfo();
                }

                try
                {
                    await signal.Task.WaitAsync(interval, _engine.Time, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // No end on this node within the interval: the run is read again (it may run on another node).
                }
            }
            finally
            {
                Unregister(runId, signal, waiters);
            }
        }
    }

    private (TaskCompletionSource Signal, List<TaskCompletionSource> Waiters) Register(string runId)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        while (true)
        {
            var waiters = _waiters.GetOrAdd(runId, static _ => []);
            lock (waiters)
            {
                // A list that the signal has already taken out of the map is spent: take a new one.
                if (_waiters.TryGetValue(runId, out var current) && ReferenceEquals(current, waiters))
                {
                    waiters.Add(signal);
                    return (signal, waiters);
                }
            }
        }
    }

    private void Unregister(string runId, TaskCompletionSource signal, List<TaskCompletionSource> waiters)
    {
        lock (waiters)
        {
            if (waiters.Remove(signal) && waiters.Count == 0)
            {
                _waiters.TryRemove(KeyValuePair.Create(runId, waiters));
            }
        }
    }

    private void OnExecutionEnded(string runId)
    {
        if (!_waiters.TryGetValue(runId, out var waiters))
        {
            return;
        }

        lock (waiters)
        {
            _waiters.TryRemove(KeyValuePair.Create(runId, waiters));
            foreach (var signal in waiters)
            {
                signal.TrySetResult();
            }

            waiters.Clear();
        }
    }

    /// <summary>Waiters registered now (tests check that none is left behind).</summary>
    internal int WaitingRuns => _waiters.Count;
}
