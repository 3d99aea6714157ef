using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Baton.RabbitMq.Connection;
using Baton.RabbitMq.Wire;
using Baton.Runs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace Baton.RabbitMq.Server;

/// <summary>
/// Sends the reply of each run started by a run-starting pattern when the run ends. The reply address is stored with
/// the run (<see cref="ReplyTarget"/>), so this is durable: at start it finds the active runs of its workflows (and
/// re-sends the replies of runs that ended in the last <see cref="RabbitMqOptions.ReplyResendWindow"/>, which a crash
/// may have cut off), and watches them. Runs are checked when the engine reports a run of one of these workflows
/// ended on this node (the <c>baton.runs.completed</c> metric, observed in-process) and every
/// <see cref="RabbitMqOptions.ReplyPollInterval"/> otherwise (runs executed by other nodes). Replies are
/// at-least-once: a NestJS client drops a reply whose correlation id it no longer waits for.
/// </summary>
internal sealed class RunReplies : BackgroundService
{
    private static readonly TimeSpan YoungWindow = TimeSpan.FromSeconds(10);

    // How long an end signalled by the engine keeps its status in the listings: a run that ended just before it was
    // watched (it ran at once on this node) is still found by the check its watch triggers.
    private static readonly TimeSpan RecentEnd = TimeSpan.FromMilliseconds(500);
    private readonly ConcurrentDictionary<(string Workflow, RunStatus Status), long> _recentEnds = new();
    private volatile bool _wakeFull;
    private readonly ConcurrentDictionary<string, Watched> _pending = new(StringComparer.Ordinal);
    private readonly IReadOnlyDictionary<string, RunRoute> _routes;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly IServiceProvider _services;
    private readonly ConfirmedPublisher _publisher;
    private readonly RabbitMqOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RunReplies> _logger;
    private readonly MeterListener _listener = new();
    private IBatonClient? _client;

    public RunReplies(RunRouteCatalog routes, IServiceProvider services, ConfirmedPublisher publisher, IOptions<RabbitMqOptions> options, TimeProvider time, ILogger<RunReplies> logger)
    {
        _routes = routes.Routes;
        _services = services;
        _publisher = publisher;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Baton" && instrument.Name == "baton.runs.completed")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnRunCompleted);
    }

    /// <summary>Runs waiting for their reply (tests read it).</summary>
    internal int PendingCount => _pending.Count;

    private IBatonClient Client => _client ??= (IBatonClient)_services.GetService(typeof(IBatonClient))!;

    /// <summary>Watches <paramref name="runId"/> and replies to <paramref name="target"/> when it ends.</summary>
    public void Watch(string runId, RunRoute route, ReplyTarget target, string requestId)
    {
        var watched = _pending.GetOrAdd(runId, id => new Watched(route, CreatedAt(id) ?? _time.GetUtcNow() - TimeSpan.FromSeconds(1)));
        lock (watched.Targets)
        {
            if (!watched.Targets.Exists(t => t.Target == target))
            {
                watched.Targets.Add((target, requestId));
            }
        }

        // The run may have ended before it was watched (it ran at once on this node).
        Signal();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_routes.Count == 0)
        {
            return;
        }

        _listener.Start();
        await RecoverAsync(stoppingToken).ConfigureAwait(false);
        var lastFull = _time.GetTimestamp();
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            using (var tick = new CancellationTokenSource(_options.ReplyPollInterval, _time))
            using (var either = CancellationTokenSource.CreateLinkedTokenSource(tick.Token, stoppingToken))
            {
                try
                {
                    await _wake.WaitAsync(either.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // The poll interval passed without a signal.
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            var full = _time.GetElapsedTime(lastFull) >= _options.ReplyPollInterval || _wakeFull;
            _wakeFull = false;
            if (full)
            {
                lastFull = _time.GetTimestamp();
            }

            try
            {
                await CheckAsync(full, stoppingToken).ConfigureAwait(false);
                failing = false;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The store or the broker is unreachable: the runs stay watched and are checked again. Logged once
                // per outage, not at every check.
                if (!failing)
                {
                    Log.ReplyCheckFailed(_logger, ex);
                    failing = true;
                }
            }
        }
    }

    private void OnRunCompleted(Instrument instrument, long measurement, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        string? workflow = null;
        var status = RunStatus.Succeeded;
        var known = false;
        foreach (var tag in tags)
        {
            if (tag is { Key: "workflow", Value: string name })
            {
                workflow = name;
            }
            else if (tag is { Key: "status", Value: string wire })
            {
                known = RunStatusExtensions.TryParseWireName(wire, out status);
            }
        }

        if (workflow is not null && _routes.ContainsKey(workflow))
        {
            if (known)
            {
                _recentEnds[(workflow, status)] = _time.GetTimestamp();
            }
            else
            {
                // An end without a readable status: look at every status at once.
                _wakeFull = true;
            }

            Signal();
        }
    }

    private void Signal()
    {
        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already signalled.
            }
        }
    }

    private async Task CheckAsync(bool full, CancellationToken cancellationToken)
    {
        if (_pending.IsEmpty)
        {
            return;
        }

        var now = _time.GetUtcNow();
        var signalledSince = _time.GetTimestamp() - (long)(RecentEnd.TotalSeconds * _time.TimestampFrequency);
        foreach (var group in _pending.Where(p => now - p.Value.Since < YoungWindow).GroupBy(p => p.Value.Route.Workflow))
        {
            // One listing per status for all the young runs of a workflow (runs created since the oldest of them),
            // and only of the statuses in which runs of it recently ended here: the listing then holds the runs that
            // just ended, not every run still in flight. The full check (every poll interval) lists all statuses.
            var since = group.Min(p => p.Value.Since) - TimeSpan.FromMilliseconds(1);
            IEnumerable<RunStatus?> statuses = full
                ? [null]
                : _recentEnds.Where(e => e.Key.Workflow == group.Key && e.Value >= signalledSince).Select(e => (RunStatus?)e.Key.Status).ToList();
            foreach (var status in statuses)
            {
                await ListEndedAsync(group.Key, status, since, cancellationToken).ConfigureAwait(false);
            }
        }

        if (!full)
        {
            return;
        }

        // Older runs (a saga waiting on a slow service): one by one, once per poll interval.
        foreach (var (runId, watched) in _pending.Where(p => now - p.Value.Since >= YoungWindow).Take(500).ToList())
        {
            var details = await Client.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
            if (details is null)
            {
                _pending.TryRemove(runId, out _);
            }
            else if (details.Run.Status.IsTerminal())
            {
                await EndedAsync(details.Run, watched, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task ListEndedAsync(string workflow, RunStatus? status, DateTimeOffset since, CancellationToken cancellationToken)
    {
        string? cursor = null;
        for (var page = 0; page < 5; page++)
        {
            var runs = await Client.ListRunsAsync(
                new ListRunsRequest { Workflow = workflow, Status = status, CreatedAfter = since, Cursor = cursor, Limit = RunLimits.MaxPageSize },
                cancellationToken).ConfigureAwait(false);
            // Replies go out together: each waits for its publisher confirm, and one at a time would cap the rate.
            var ended = new List<Task>();
            foreach (var run in runs.Runs)
            {
                if (run.Status.IsTerminal() && _pending.TryGetValue(run.Id, out var watched))
                {
                    ended.Add(EndedAsync(run, watched, cancellationToken));
                }
            }

            await Task.WhenAll(ended).ConfigureAwait(false);
            if ((cursor = runs.NextCursor) is null)
            {
                return;
            }
        }
    }

    private async Task EndedAsync(RunInfo run, Watched watched, CancellationToken cancellationToken)
    {
        List<(ReplyTarget Target, string RequestId)> targets;
        lock (watched.Targets)
        {
            targets = [.. watched.Targets];
        }

        foreach (var (target, requestId) in targets)
        {
            await ReplyAsync(run, watched.Route, target, requestId, cancellationToken).ConfigureAwait(false);
        }

        // A target added while these replies went out is answered on the next check.
        lock (watched.Targets)
        {
            watched.Targets.RemoveAll(targets.Contains);
            if (watched.Targets.Count == 0)
            {
                _pending.TryRemove(run.Id, out _);
            }
        }
    }

    /// <summary>Publishes the reply of an ended run: its output as the response, or the route's error reply.</summary>
    public async Task ReplyAsync(RunInfo run, RunRoute route, ReplyTarget target, string requestId, CancellationToken cancellationToken)
    {
        byte[] body;
        if (run.Status == RunStatus.Succeeded)
        {
            using var output = run.Output is null ? null : JsonDocument.Parse(run.Output);
            body = NestWire.Reply(requestId, output?.RootElement);
        }
        else
        {
            body = NestWire.ErrorReply(requestId, await ErrorAsync(run, route, cancellationToken).ConfigureAwait(false));
        }

        await PublishAsync(target.ReplyTo, target.CorrelationId, body, cancellationToken).ConfigureAwait(false);
        Log.RunReplied(_logger, run.Id, run.Status.ToWireName(), target.CorrelationId);
    }

    public Task PublishAsync(string? replyTo, string? correlationId, byte[] body, CancellationToken cancellationToken) =>
        string.IsNullOrEmpty(replyTo)
            ? Task.CompletedTask
            : _publisher.PublishAsync(replyTo, new BasicProperties { CorrelationId = correlationId, ContentType = "application/json" }, body, cancellationToken);

    private async Task<JsonElement> ErrorAsync(RunInfo run, RunRoute route, CancellationToken cancellationToken)
    {
        if (route.ErrorReply is { } errorReply && await Client.GetRunAsync(run.Id, cancellationToken).ConfigureAwait(false) is { } details)
        {
            try
            {
                return errorReply(details);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A failing errorReply must not keep the caller waiting: the default error goes out instead.
                Log.ErrorReplyFailed(_logger, ex, run.Id);
            }
        }

        return JsonSerializer.SerializeToElement(new Dictionary<string, string>
        {
            ["status"] = "error",
            ["message"] = run.Failure?.Message ?? $"The run ended {run.Status.ToWireName()}.",
            ["runId"] = run.Id,
            ["runStatus"] = run.Status.ToWireName(),
        });
    }

    /// <summary>Finds the runs a previous process left waiting for their reply.</summary>
    private async Task RecoverAsync(CancellationToken cancellationToken)
    {
        var logged = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var now = _time.GetUtcNow();
                var found = 0;
                foreach (var route in _routes.Values)
                {
                    foreach (var status in Enum.GetValues<RunStatus>())
                    {
                        var window = status.IsActive() ? _options.ReplyRecoveryWindow : _options.ReplyResendWindow;
                        found += await RecoverAsync(route, status, now - window, cancellationToken).ConfigureAwait(false);
                    }
                }

                Log.RepliesRecovered(_logger, found);
                return;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                if (!logged)
                {
                    Log.ReplyCheckFailed(_logger, ex);
                    logged = true;
                }

                try
                {
                    await Task.Delay(_options.ReplyPollInterval, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task<int> RecoverAsync(RunRoute route, RunStatus status, DateTimeOffset createdAfter, CancellationToken cancellationToken)
    {
        var found = 0;
        string? cursor = null;
        do
        {
            var page = await Client.ListRunsAsync(
                new ListRunsRequest { Workflow = route.Workflow, Status = status, CreatedAfter = createdAfter, Cursor = cursor, Limit = RunLimits.MaxPageSize },
                cancellationToken).ConfigureAwait(false);
            var replies = new List<Task>();
            foreach (var run in page.Runs)
            {
                if (ReplyTarget.Decode(run.CorrelationId) is not { } target || run.IdempotencyKey is not { } requestId)
                {
                    continue;
                }

                found++;
                if (run.Status.IsTerminal())
                {
                    // Ended already: answered again now, straight from the listing.
                    replies.Add(ReplyAsync(run, route, target, requestId, cancellationToken));
                    continue;
                }

                var watched = _pending.GetOrAdd(run.Id, _ => new Watched(route, run.CreatedAt));
                lock (watched.Targets)
                {
                    watched.Targets.Add((target, requestId));
                }
            }

            await Task.WhenAll(replies).ConfigureAwait(false);

            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return found;
    }

    // Run ids are UUIDv7: the first 12 hex digits are the creation time in Unix milliseconds. Knowing it exactly keeps
    // the listing of young runs to those created since the oldest watched one.
    private static DateTimeOffset? CreatedAt(string runId) =>
        runId.Length == 32 && long.TryParse(runId.AsSpan(0, 12), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : null;

    public override void Dispose()
    {
        _listener.Dispose();
        base.Dispose();
    }

    private sealed record Watched(RunRoute Route, DateTimeOffset Since)
    {
        public List<(ReplyTarget Target, string RequestId)> Targets { get; } = [];
    }
}
