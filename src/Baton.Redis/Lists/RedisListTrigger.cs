using Baton.Inbox;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Baton.Redis;

/// <summary>
/// The hosted service of one list trigger: keeps the set of lists (fixed plus discovered), runs one step at a time per
/// list with at most <see cref="RedisListTriggerOptions.MaxConcurrentLists"/> lists at once (round robin, so a long list
/// does not starve the others), refreshes this consumer's heartbeat and recovers dead consumers' processing lists.
/// Stopping cancels the loops and waits for the steps in flight; a batch cut off stays in the processing list and is
/// offered again at the next start.
/// </summary>
internal sealed class RedisListTrigger : BackgroundService
{
    private readonly string _name;
    private readonly RedisListTriggerOptions _options;
    private readonly IRedisConnection _redis;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<string> _consumerId;
    private readonly IBatonInbox _inbox;
    private readonly RedisListMetrics _metrics;
    private readonly OutageGate _outage;
    // Made at the start of ExecuteAsync, once the node's id is known (see the constructor).
    private RedisListKeys _keys = null!;
    private RedisListConsumer _consumer = null!;
    private readonly object _lock = new();
    private readonly Dictionary<string, ListState> _states = new(StringComparer.Ordinal);
    private readonly List<Task> _running = [];
    private IReadOnlyCollection<string> _discovered = [];
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _roundRobin;
    private int _active;
    // This process's mark in the heartbeat key: another mark there means another process consumes under the same id.
    private readonly string _instance = Guid.NewGuid().ToString("N");
    private readonly CancellationTokenSource _fatal = new();
    private Exception? _fatalError;

    /// <param name="consumerId">
    /// Read when the trigger starts, after the engine's store initializer has run: a default consumer id is the node's
    /// own name then, which on PostgreSQL is not the configured node id when another live process already holds it.
    /// </param>
    public RedisListTrigger(
        string name, RedisListTriggerOptions options, Func<string> consumerId, IRedisConnection redis, IBatonInbox inbox,
        TimeProvider time, RedisListMetrics metrics, ILogger logger)
    {
        _name = name;
        _options = options;
        _consumerId = consumerId;
        _redis = redis;
        _inbox = inbox;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _outage = new OutageGate(name, redis.Description, logger);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Connecting may block for the connect timeout: keep it off the host's start-up path.
        await Task.Yield();
        _keys = new RedisListKeys(_options.KeyPrefix, _consumerId());
        _consumer = new RedisListConsumer(_name, _options, _keys, _redis, _inbox, _metrics, _outage, _logger);
        Log.TriggerStarted(_logger, _name, _keys.ConsumerId, _redis.Description);
        // Stopped by the host, or by finding another live process under this consumer id (then ExecuteAsync fails, which stops the host).
        using var running = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _fatal.Token);
        var token = running.Token;
        try
        {
            await ClaimConsumerIdAsync(token).ConfigureAwait(false);
            await HeartbeatAsync().ConfigureAwait(false);
            var discovered = await RefreshListsAsync(initial: true, token).ConfigureAwait(false);
            var heartbeat = HeartbeatLoopAsync(token);
            var discovery = _options.DiscoverLists is null ? Task.CompletedTask : DiscoveryLoopAsync(discovered, token);
            await ScheduleLoopAsync(token).ConfigureAwait(false);
            await Task.WhenAll(heartbeat, discovery).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        finally
        {
            Task[] inFlight;
            lock (_lock)
            {
                inFlight = [.. _running];
            }

            await Task.WhenAll(inFlight).ConfigureAwait(false);
            if (_fatalError is null)
            {
                await ReleaseHeartbeatAsync().ConfigureAwait(false);
            }

            Log.TriggerStopped(_logger, _name);
        }

        if (_fatalError is { } fatal)
        {
            throw fatal;
        }
    }

    /// <summary>
    /// Makes sure no other live process consumes under this consumer id, which would share its processing lists: an
    /// acknowledgement (an LTRIM by count) of one could then drop items the other has just moved. A heartbeat key left by
    /// another process is either a live twin's (refreshed every <see cref="RedisListTriggerOptions.HeartbeatInterval"/>) or a
    /// crashed predecessor's (left as it was until it expires): after one and a half intervals, a changed key means a twin,
    /// and this trigger fails (stopping the host) before it moves anything; an unchanged one is taken over. A process stopped
    /// gracefully deletes its key, so a restart does not wait.
    /// </summary>
    /// <remarks>
    /// Redis unreachable before a decision (at start, during the wait, at the take-over) is retried from the start with
    /// the error backoff, and nothing is moved meanwhile: after an outage the key read may be a crashed predecessor's that
    /// survived on disk, and only a full wait tells it from a twin's.
    /// </remarks>
    private async Task ClaimConsumerIdAsync(CancellationToken cancellationToken)
    {
        var retry = TimeSpan.Zero;
        while (true)
        {
            try
            {
                await TryClaimConsumerIdAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (OutageGate.IsOutage(ex))
            {
                _outage.Failed(ex);
                retry = Min(retry == TimeSpan.Zero ? TimeSpan.FromMilliseconds(50) : retry * 2, _options.MaxErrorDelay);
                await Task.Delay(retry, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task TryClaimConsumerIdAsync(CancellationToken cancellationToken)
    {
        var database = _redis.Database;
        var seen = await database.StringGetAsync(_keys.Heartbeat).ConfigureAwait(false);
        if (seen.IsNull || ((string)seen!).StartsWith(_instance, StringComparison.Ordinal))
        {
            return;
        }

        var wait = _options.HeartbeatInterval + (_options.HeartbeatInterval / 2);
        Log.WaitingForPredecessor(_logger, _name, _keys.ConsumerId, wait.TotalSeconds);
        await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        var now = await database.StringGetAsync(_keys.Heartbeat).ConfigureAwait(false);
        if (!now.IsNull && now != seen)
        {
            Fail();
            cancellationToken.ThrowIfCancellationRequested();
        }

        // The predecessor is gone: its key goes (only if still as it was), and the heartbeat below writes this process's.
        // A WATCH transaction, not the single-command form SER301 suggests: that needs Redis 8.4, and Debian's is older.
#pragma warning disable SER301
        var takeOver = database.CreateTransaction();
        takeOver.AddCondition(Condition.StringEqual(_keys.Heartbeat, seen));
        _ = takeOver.KeyDeleteAsync(_keys.Heartbeat);
#pragma warning restore SER301
        await takeOver.ExecuteAsync().ConfigureAwait(false);
    }

    private void Fail()
    {
        const string Advice = "Two processes consuming under one id share its processing lists, and one's acknowledgement can drop items the other has just moved. "
            + "Give each process its own ConsumerId (the brand-insights app: its own ORCHESTRATOR_ID, or none, so each uses its node's own name).";
        _fatalError ??= new InvalidOperationException($"Redis list trigger '{_name}': another live process consumes as '{_keys.ConsumerId}' (its heartbeat {(string)_keys.Heartbeat!} is refreshed by it). {Advice}");
        Log.ConsumerIdTaken(_logger, _name, _keys.ConsumerId, Advice);
        _fatal.Cancel();
    }

    /// <summary>Deletes this consumer's heartbeat key if it is this process's (a graceful stop), so a restart takes the id at once.</summary>
    private async Task ReleaseHeartbeatAsync()
    {
        try
        {
            await _redis.Database.ScriptEvaluateAsync(RedisListScripts.Release, [_keys.Heartbeat], [_instance]).ConfigureAwait(false);
        }
        catch (Exception ex) when (OutageGate.IsOutage(ex) || ex is RedisServerException)
        {
            // Best effort: the key expires by itself, and a restart waits for it as for a crashed predecessor.
        }
    }

    private async Task ScheduleLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TaskCompletionSource wake;
            DateTimeOffset? next = null;
            lock (_lock)
            {
                wake = _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _running.RemoveAll(t => t.IsCompleted);
                var now = _time.GetUtcNow();
                var order = _states.Values.ToList();
                for (var i = 0; i < order.Count && _active < _options.MaxConcurrentLists; i++)
                {
                    var state = order[(_roundRobin + i) % order.Count];
                    if (state.Running)
                    {
                        continue;
                    }

                    if (state.Due <= now)
                    {
                        state.Running = true;
                        _active++;
                        _running.Add(RunStepAsync(state, cancellationToken));
                    }
                    else if (next is null || state.Due < next)
                    {
                        next = state.Due;
                    }
                }

                _roundRobin = order.Count == 0 ? 0 : (_roundRobin + 1) % order.Count;
            }

            using var stopWaiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = next is { } due
                ? Task.Delay(Max(due - _time.GetUtcNow(), TimeSpan.Zero), _time, stopWaiting.Token)
                : Task.Delay(Timeout.InfiniteTimeSpan, stopWaiting.Token);
            await Task.WhenAny(delay, wake.Task).ConfigureAwait(false);
            await stopWaiting.CancelAsync().ConfigureAwait(false);
        }
    }

    private async Task RunStepAsync(ListState state, CancellationToken cancellationToken)
    {
        // Off the scheduling lock and loop: the step runs on the thread pool.
        await Task.Yield();
        StepResult result;
        try
        {
            result = state.Removed
                ? await _consumer.ReleaseAsync(state).ConfigureAwait(false)
                : await _consumer.StepAsync(state, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            result = StepResult.Failed;
        }
        catch (Exception ex)
        {
            Log.ListFailed(_logger, ex, _name, state.Key);
            result = StepResult.Failed;
        }

        lock (_lock)
        {
            var now = _time.GetUtcNow();
            state.Running = false;
            if (result is StepResult.Worked or StepResult.Empty or StepResult.Conflict)
            {
                state.Faulted = false;
            }

            switch (result)
            {
                case StepResult.Worked:
                    state.IdleDelay = state.ErrorDelay = TimeSpan.Zero;
                    state.Due = now;
                    break;
                case StepResult.Empty:
                    state.ErrorDelay = TimeSpan.Zero;
                    state.IdleDelay = state.IdleDelay == TimeSpan.Zero ? TimeSpan.FromMilliseconds(1) : Min(state.IdleDelay * 2, _options.MaxIdleDelay);
                    state.Due = now + state.IdleDelay;
                    break;
                case StepResult.Conflict:
                    state.ErrorDelay = TimeSpan.Zero;
                    state.Due = now + _options.ConflictDelay;
                    break;
                case StepResult.Released when state.Removed:
                    _states.Remove(state.Key);
                    break;
                case StepResult.Released:
                    // Discovered again while it was being released: read it as before.
                    state.Due = now;
                    break;
                default:
                    state.ErrorDelay = state.ErrorDelay == TimeSpan.Zero ? TimeSpan.FromMilliseconds(50) : Min(state.ErrorDelay * 2, _options.MaxErrorDelay);
                    state.Due = now + state.ErrorDelay;
                    break;
            }

            _active--;
            _wake.TrySetResult();
        }
    }

    /// <summary>Applies the fixed and discovered lists; false when discovery failed (the previous set is kept).</summary>
    private async Task<bool> RefreshListsAsync(bool initial, CancellationToken cancellationToken)
    {
        var discovered = true;
        var desired = new HashSet<string>(_options.Lists, StringComparer.Ordinal);
        if (_options.DiscoverLists is { } discover)
        {
            try
            {
                _discovered = [.. await discover(_redis.Database, cancellationToken).ConfigureAwait(false)];
            }
            catch (Exception ex) when (OutageGate.IsOutage(ex))
            {
                // Redis is away: the outage is logged once, whoever notices it first.
                _outage.Failed(ex);
                discovered = false;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                Log.DiscoveryFailed(_logger, ex, _name, _discovered.Count);
                discovered = false;
            }

            desired.UnionWith(_discovered);
        }

        var leftOver = new HashSet<string>(StringComparer.Ordinal);
        if (initial)
        {
            // Lists this consumer took items from before its last stop that it no longer reads: release them.
            try
            {
                leftOver.UnionWith((await _redis.Database.SetMembersAsync(_keys.OwnLists).ConfigureAwait(false)).Select(v => (string)v!));
            }
            catch (Exception ex) when (OutageGate.IsOutage(ex))
            {
                _outage.Failed(ex);
            }
        }

        lock (_lock)
        {
            var now = _time.GetUtcNow();
            foreach (var key in desired.Concat(leftOver))
            {
                if (!_states.TryGetValue(key, out var state))
                {
                    _states[key] = state = new ListState(key) { Due = now };
                }

                state.Removed = !desired.Contains(key);
            }

            foreach (var state in _states.Values.Where(s => !desired.Contains(s.Key) && !s.Removed))
            {
                state.Removed = true;
                state.Due = now;
            }

            _wake.TrySetResult();
        }

        return discovered;
    }

    /// <summary>
    /// Discovers again every <see cref="RedisListTriggerOptions.DiscoveryInterval"/>; after a failed round sooner (50 ms
    /// doubling up to <see cref="RedisListTriggerOptions.MaxErrorDelay"/>), so lists are found soon after an outage at start.
    /// </summary>
    private async Task DiscoveryLoopAsync(bool lastSucceeded, CancellationToken cancellationToken)
    {
        var retry = TimeSpan.Zero;
        while (!cancellationToken.IsCancellationRequested)
        {
            retry = lastSucceeded ? TimeSpan.Zero : Min(retry == TimeSpan.Zero ? TimeSpan.FromMilliseconds(50) : retry * 2, _options.MaxErrorDelay);
            await Task.Delay(lastSucceeded ? _options.DiscoveryInterval : Min(retry, _options.DiscoveryInterval), _time, cancellationToken).ConfigureAwait(false);
            lastSucceeded = await RefreshListsAsync(initial: false, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task HeartbeatLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval, _time);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            await HeartbeatAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Refreshes this consumer's heartbeat key, then pushes back what every consumer without one still holds.</summary>
    private async Task HeartbeatAsync()
    {
        try
        {
            var database = _redis.Database;
            var refreshed = (long)await database.ScriptEvaluateAsync(
                RedisListScripts.Heartbeat,
                [_keys.Heartbeat],
                [_instance, $"{_instance} {_time.GetUtcNow():O}", (long)_options.ConsumerTimeout.TotalMilliseconds]).ConfigureAwait(false);
            if (refreshed == 0)
            {
                // Another process wrote its mark here (both started at once, or this one's key expired meanwhile).
                Fail();
                return;
            }

            await database.SetAddAsync(_keys.Consumers, _keys.ConsumerId).ConfigureAwait(false);
            foreach (var member in await database.SetMembersAsync(_keys.Consumers).ConfigureAwait(false))
            {
                var consumer = (string)member!;
                if (consumer == _keys.ConsumerId)
                {
                    continue;
                }

                var moved = (long)await database.ScriptEvaluateAsync(
                    RedisListScripts.Recover,
                    [_keys.HeartbeatOf(consumer), _keys.ListsOf(consumer), _keys.Consumers],
                    [_keys.ProcessingPrefixOf(consumer), consumer]).ConfigureAwait(false);
                if (moved > 0)
                {
                    Log.ConsumerRecovered(_logger, _name, consumer, moved);
                }
            }

            _outage.Succeeded();
        }
        catch (Exception ex) when (OutageGate.IsOutage(ex))
        {
            _outage.Failed(ex);
        }
        catch (RedisServerException ex)
        {
            Log.ListFailed(_logger, ex, _name, (string)_keys.Consumers!);
        }

        lock (_lock)
        {
            _wake.TrySetResult();
        }
    }

    public override void Dispose()
    {
        _fatal.Dispose();
        base.Dispose();
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
