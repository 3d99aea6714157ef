using System.Collections.Concurrent;
using System.Text.Json;
using Baton.RabbitMq.Connection;
using Baton.RabbitMq.Wire;
using Baton.Hosting;
using Baton.Runs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace Baton.RabbitMq.Server;

/// <summary>
/// Sends the reply of each run started by a run-starting pattern when the run ends. The reply address is stored with
/// the run (<see cref="ReplyTarget"/>), so this is durable: at start it finds the active runs of its workflows (and
/// re-sends the replies of runs that ended in the last <see cref="RabbitMqOptions.ReplyResendWindow"/>, which a crash
/// may have cut off), and watches them. Each watched run waits on <see cref="IRunCompletions"/>: a run that ends on
/// this node is read by id the moment its execution ends; one executed by another node is read every
/// <see cref="RabbitMqOptions.ReplyPollInterval"/>. Replies are at-least-once: a NestJS client drops a reply whose
/// correlation id it no longer waits for.
/// </summary>
internal sealed class RunReplies : BackgroundService
{
    private readonly ConcurrentDictionary<string, Watched> _pending = new(StringComparer.Ordinal);
    private readonly IReadOnlyDictionary<string, RunRoute> _routes;
    private readonly CancellationTokenSource _stopping = new();
    private readonly IServiceProvider _services;
    private readonly ConfirmedPublisher _publisher;
    private readonly RabbitMqOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RunReplies> _logger;
    private IBatonClient? _client;
    private IRunCompletions? _completions;
    private int _failing;

    public RunReplies(RunRouteCatalog routes, IServiceProvider services, ConfirmedPublisher publisher, IOptions<RabbitMqOptions> options, TimeProvider time, ILogger<RunReplies> logger)
    {
        _routes = routes.Routes;
        _services = services;
        _publisher = publisher;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>Runs waiting for their reply (tests read it).</summary>
    internal int PendingCount => _pending.Count;

    private IBatonClient Client => _client ??= (IBatonClient)_services.GetService(typeof(IBatonClient))!;

    private IRunCompletions Completions => _completions ??= (IRunCompletions)_services.GetService(typeof(IRunCompletions))!;

    /// <summary>Watches <paramref name="runId"/> and replies to <paramref name="target"/> when it ends.</summary>
    public void Watch(string runId, RunRoute route, ReplyTarget target, string requestId)
    {
        while (true)
        {
            var created = false;
            var watched = _pending.GetOrAdd(runId, _ =>
            {
                created = true;
                return new Watched(route);
            });
            lock (watched.Targets)
            {
                // An entry whose replies have all gone out is removed under this lock: a target added to it would be lost.
                if (!_pending.TryGetValue(runId, out var current) || !ReferenceEquals(current, watched))
                {
                    continue;
                }

                if (!watched.Targets.Exists(t => t.Target == target))
                {
                    watched.Targets.Add((target, requestId));
                }
            }

            if (created)
            {
                _ = ReplyWhenEndedAsync(runId, watched, _stopping.Token);
            }

            return;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_routes.Count > 0)
        {
            await RecoverAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // The engine drains its runs on a graceful stop: their callers are still waiting, so their replies go out first,
        // for as long as the engine's DrainTimeout and the host allow. Before, the watchers were cancelled as the stop
        // began: a run that ended while the node drained succeeded with no reply, and its caller timed out.
        // Only runs that are executing can end in the drain, and ended ones whose reply is on its way; a suspended one
        // (waiting for an event or a timer) is not waited for.
        var drain = _services.GetService<IOptions<BatonOptions>>()?.Value.DrainTimeout ?? TimeSpan.FromSeconds(30);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            while (waited.Elapsed < drain && await AnyReplyDueAsync(cancellationToken).ConfigureAwait(false))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(25), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's own shutdown timeout: what is left is re-sent at the next start (ReplyResendWindow).
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The store is unreachable: nothing more can be learnt; what is left is re-sent at the next start.
            Log.ReplyCheckFailed(_logger, ex);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether a watched run is executing, or has ended and its reply has not gone out yet (it stays watched until it has):
    /// a suspended run (waiting for an event or a timer) is not waited for.
    /// </summary>
    private async Task<bool> AnyReplyDueAsync(CancellationToken cancellationToken)
    {
        // The run alone: GetRunAsync also reads every step, attempt, event and child, every 25 ms.
        foreach (var runId in _pending.Keys)
        {
            if (await Client.GetRunInfoAsync(runId, cancellationToken).ConfigureAwait(false) is { Status: not RunStatus.Suspended })
            {
                return true;
            }
        }

        return false;
    }

    private async Task ReplyWhenEndedAsync(string runId, Watched watched, CancellationToken stopping)
    {
        // Off the caller's path: the consumer acknowledges its delivery without waiting for the run.
        await Task.Yield();
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var run = await Completions.WaitForEndAsync(runId, _options.ReplyPollInterval, stopping).ConfigureAwait(false);
                Interlocked.Exchange(ref _failing, 0);
                if (run is null)
                {
                    _pending.TryRemove(runId, out _);
                    return;
                }

                if (await EndedAsync(run, watched, stopping).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The store or the broker is unreachable: the run stays watched and is checked again after a poll
                // interval. Logged once per outage, not per run.
                if (Interlocked.Exchange(ref _failing, 1) == 0)
                {
                    Log.ReplyCheckFailed(_logger, ex);
                }

                try
                {
                    await Task.Delay(_options.ReplyPollInterval, _time, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Replies to the run's targets; false if a target was added meanwhile (it is answered next).</summary>
    private async Task<bool> EndedAsync(RunInfo run, Watched watched, CancellationToken cancellationToken)
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

        lock (watched.Targets)
        {
            watched.Targets.RemoveAll(targets.Contains);
            if (watched.Targets.Count == 0)
            {
                _pending.TryRemove(KeyValuePair.Create(run.Id, watched));
                return true;
            }

            return false;
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
            : _publisher.PublishAsync(replyTo, new BasicProperties { CorrelationId = NestWire.ReplyCorrelationId(correlationId), ContentType = "application/json" }, body, cancellationToken);

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

                Watch(run.Id, route, target, requestId);
            }

            await Task.WhenAll(replies).ConfigureAwait(false);

            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return found;
    }

    public override void Dispose()
    {
        _stopping.Dispose();
        base.Dispose();
    }

    private sealed record Watched(RunRoute Route)
    {
        public List<(ReplyTarget Target, string RequestId)> Targets { get; } = [];
    }
}
