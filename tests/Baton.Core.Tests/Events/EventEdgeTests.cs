using System.Text.Json;
using Baton.Core.Tests.Support;
using Baton.Events;
using Baton.Inbox;
using Baton.Runs;
using Baton.Storage;
using Baton.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Core.Tests.Events;

/// <summary>An event store that runs a hook after each consume, to act inside the engine's windows (fail once after the commit).</summary>
internal sealed class HookedEvents(IEventStore inner) : IEventStore
{
    public Func<ConsumeEventRequest, ConsumeEventResult, Task>? AfterConsume { get; set; }

    public Task<SendEventResult> SendEventAsync(SendEventRequest request, CancellationToken cancellationToken = default) =>
        inner.SendEventAsync(request, cancellationToken);

    public async Task<ConsumeEventResult> ConsumeEventAsync(ConsumeEventRequest request, CancellationToken cancellationToken = default)
    {
        var result = await inner.ConsumeEventAsync(request, cancellationToken);
        if (AfterConsume is { } hook)
        {
            await hook(request, result);
        }

        return result;
    }

    public Task<bool> WakeIfEventStoredAsync(WakeIfEventStoredRequest request, CancellationToken cancellationToken = default) =>
        inner.WakeIfEventStoredAsync(request, cancellationToken);

    public Task<IReadOnlyList<EventRecord>> GetEventsAsync(string runId, CancellationToken cancellationToken = default) =>
        inner.GetEventsAsync(runId, cancellationToken);
}

/// <summary>Event edge cases from a review: the payload limit in bytes everywhere, a timeout past year 9999, a store error while taking the event, names a URL cannot carry.</summary>
public sealed class EventEdgeTests
{
    private static readonly DateTimeOffset Start = EngineHarness.Start;

    private static Action<IServiceCollection> Hooked(Action<HookedEvents> capture) => services =>
        services.AddSingleton<IEventStore>(sp =>
        {
            var hooked = new HookedEvents(sp.GetRequiredService<IBatonStore>().Events);
            capture(hooked);
            return hooked;
        });

    private static JsonElement Utf8Payload(int chars) =>
        JsonDocument.Parse("\"" + new string('é', chars) + "\"").RootElement.Clone();

    [Fact]
    public async Task WaitForEventAsync_EventStoredWhileAStepBesideItRunsThenThatStepsRetryWaitSuspends_RunWokenAtOnce()
    {
        // The event wait sleeps in memory while a step beside it runs; the event is stored then (the run is leased, so it
        // wakes nothing), and the step fails with a 1 h backoff, which suspends the run. Before (review 54): that
        // suspension named neither the wait's event nor its 10-minute timeout, so the run slept the whole hour.
        EngineHarness? harness = null;
        HookedEvents? hooked = null;
        var looked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var policy = new Baton.Retries.RetryPolicy { MaxAttempts = 3, BaseDelay = TimeSpan.FromHours(1), MaxDelay = TimeSpan.FromHours(2), JitterFactor = 0 };
        var calls = 0;
        harness = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("both", async (ctx, input, ct) =>
        {
            var step = ctx.StepAsync("flaky", async _ =>
            {
                if (Interlocked.Increment(ref calls) > 1)
                {
                    return 1;
                }

                // Sent once the wait has looked and found nothing, so it sleeps in memory when the event comes.
                await looked.Task.WaitAsync(TimeSpan.FromSeconds(60));
                Assert.Equal(EventSendOutcome.Stored, (await harness!.Client.SendEventAsync(ctx.RunId, "x", JsonSerializer.SerializeToElement(5))).Outcome);
                throw new InvalidOperationException("first attempt fails");
            }, new Baton.Steps.StepOptions { Retry = policy }, cancellationToken: ct);
            var wait = ctx.WaitForEventAsync<int>("x", TimeSpan.FromMinutes(10), ct);
            return await step + await wait;
        }), configureServices: Hooked(h => hooked = h));
        await using var node = harness;
        _ = node.Services.GetRequiredService<IEventStore>();
        hooked!.AfterConsume = (request, result) =>
        {
            if (request.Name == "x" && result.Event is null)
            {
                looked.TrySetResult();
            }

            return Task.CompletedTask;
        };
        var id = await node.StartRunAsync("both", 0);
        var waiting = await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null && r.RunAfter > EngineHarness.Start);
        var events = await node.Store.Events.GetEventsAsync(id);
        await node.AdvanceWhenClaimLoopWaitsAsync(TimeSpan.FromHours(1));
        var run = await node.WaitForEndAsync(id);

        Assert.NotNull(Assert.Single(events).ConsumedAt);
        Assert.Equal(EngineHarness.Start + TimeSpan.FromHours(1), waiting.RunAfter);
        Assert.Equal((RunStatus.Succeeded, "6"), (run.Status, run.Output));
    }

    [Fact]
    public async Task WaitForEventAsync_CalledWhileTheHeldStepEndIsStoredAndAWaitBesideItSuspends_ItsEventWakesTheRun()
    {
        // Wait "one" is called right after step "a" (whose end is held) and first stores that end; meanwhile wait "zero",
        // resting in memory since "a" ran beside it, looks again and suspends the run. Before: "one" counted as at work
        // only once that write was done, so the suspension named "zero" alone and, since events wake only the runs that
        // wait for them, event "one" left the run asleep (it has no wake-up time: for ever).
        var clock = new ExactClock(Start);
        var stepRuns = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var steps = new StepEndHeldStore("a");
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("two-waits", async (ctx, _, ct) =>
            {
                try
                {
                    var a = ctx.StepAsync("a", async _ => { await stepRuns.Task; return 1; }, cancellationToken: ct);
                    var zero = ctx.WaitForEventAsync<int>("zero", cancellationToken: ct);
                    await a;
                    var one = ctx.WaitForEventAsync<int>("one", cancellationToken: ct);
                    return await zero + await one;
                }
                finally
                {
                    steps.Release();
                }
            }),
            o => o.DrainTimeout = TimeSpan.Zero,
            time: clock,
            configureServices: steps.InPlaceOfTheStepStore());

        var id = await node.StartRunAsync("two-waits");
        // "zero" found nothing while "a" ran: it rests in memory and looks again in a second.
        await clock.WaitForTimerAsync(Start.AddSeconds(1), TimerKind.Delay);
        stepRuns.SetResult();
        await steps.Entered.WaitAsync(TimeSpan.FromSeconds(60));
        clock.AdvanceTo(Start.AddSeconds(1));
        await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);
        await node.Client.SendEventAsync(id, "one", JsonSerializer.SerializeToElement(2));
        var afterOne = await node.Store.Runs.GetRunAsync(id);
        await node.Client.SendEventAsync(id, "zero", JsonSerializer.SerializeToElement(1));
        node.WakeWorker();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(clock.GetUtcNow(), afterOne!.RunAfter);
        Assert.Equal((RunStatus.Succeeded, "3"), (run.Status, run.Output));
    }

    [Fact]
    public async Task SendEventAsync_PayloadOver256KiBOfUtf8ButFewerChars_IsRefused()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("waiter", async (ctx, _, ct) =>
            await ctx.WaitForEventAsync<string>("go", cancellationToken: ct)));
        var id = await node.StartRunAsync("waiter");
        await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended);
        var payload = Utf8Payload(200_000); // 200,002 chars of JSON, 400,002 bytes of UTF-8
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(payload.GetRawText()) > EventNames.MaxPayloadLength);

        var sent = await node.Client.SendEventAsync(id, "go", payload);

        Assert.Equal(EventSendOutcome.Invalid, sent.Outcome);
        Assert.Empty(await node.Store.Events.GetEventsAsync(id));
    }

    [Fact]
    public async Task Client_IdsAndKeysHoldingHalfASurrogatePair_RefusedOrNotFoundAndNothingStored()
    {
        // Not text: PostgreSQL's driver throws EncoderFallbackException at the bind; SQLite stored the event and the run.
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("waiter", async (ctx, _, ct) =>
            await ctx.WaitForEventAsync<string>("go", cancellationToken: ct)));
        var id = await node.StartRunAsync("waiter");
        await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended);

        var keyedEvent = await node.Client.SendEventAsync(id, "go", JsonSerializer.SerializeToElement("x"), "key\ud800");
        var keyedStart = await node.Client.StartRunAsync(new StartRunRequest
        {
            Workflow = "waiter", Input = JsonSerializer.SerializeToElement(1), ConcurrencyKey = "tenant\udc00",
        });
        var get = await node.Client.GetRunAsync(id + "\ud800");
        var cancel = await node.Client.CancelRunAsync(id + "\ud800");
        var retry = await node.Client.RetryRunAsync(id + "\ud800");
        var sent = await node.Client.SendEventAsync(id + "\ud800", "go", null);
        var list = await node.Client.ListRunsAsync(new ListRunsRequest { Workflow = "waiter\ud800" });

        Assert.Equal(EventSendOutcome.Invalid, keyedEvent.Outcome);
        Assert.Contains("an event's idempotency key cannot hold half a surrogate pair", keyedEvent.Error, StringComparison.Ordinal);
        Assert.Equal(StartRunOutcome.InvalidInput, keyedStart.Outcome);
        Assert.Contains("the concurrency key holds half a surrogate pair", keyedStart.Error, StringComparison.Ordinal);
        Assert.Equal((null, CancelRunOutcome.NotFound, RetryRunOutcome.NotFound, EventSendOutcome.RunNotFound), (get, cancel.Outcome, retry.Outcome, sent.Outcome));
        Assert.Empty(list.Runs);
        Assert.Empty(await node.Store.Events.GetEventsAsync(id));
        Assert.Equal(id, Assert.Single((await node.Client.ListRunsAsync(new ListRunsRequest())).Runs).Id);
    }

    [Fact]
    public async Task AcceptEventAsync_PayloadOver256KiBOfUtf8ButFewerChars_IsRejected()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("waiter", async (ctx, _, ct) =>
            await ctx.WaitForEventAsync<string>("go", cancellationToken: ct)));
        var id = await node.StartRunAsync("waiter");
        await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended);

        var result = await node.Services.GetRequiredService<IBatonInbox>().AcceptEventAsync("m-1", id, "go", Utf8Payload(200_000));

        Assert.Equal(InboxOutcome.Rejected, result.Outcome);
        Assert.Empty(await node.Store.Events.GetEventsAsync(id));
    }

    [Fact]
    public async Task WaitForEventAsync_TimeoutPastTheYear9999_WaitsWithoutADeadline()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("waiter", async (ctx, _, ct) =>
            await ctx.WaitForEventAsync<string>("approved", TimeSpan.MaxValue, ct)));
        var id = await node.StartRunAsync("waiter");
        var run = await node.WaitForIdleAsync(id, r => r.Status.IsTerminal() || (r.Status == RunStatus.Suspended && r.LeaseOwner is null));
        Assert.True(run.Status == RunStatus.Suspended, $"{run.Status}: {run.Failure?.ErrorType} {run.Failure?.Message}");
    }

    [Fact]
    public async Task WaitForEventAsync_StoreErrorAfterTheEventWasTaken_RunResumesAndGetsTheSameEvent()
    {
        var (interrupted, run, events) = await StoreErrorAfterTheTakeAsync(logs: null);

        Assert.NotEqual(RunStatus.Failed, interrupted.Status);
        Assert.Equal((RunStatus.Succeeded, "\"one\""), (run.Status, run.Output));
        var stored = Assert.Single(events);
        Assert.Equal("event:go", stored.ConsumedBy);
    }

    [Fact]
    public async Task WaitForEventAsync_StoreErrorTakingTheEvent_LoggedAsAStoreErrorNamingTheRun()
    {
        // Before (a review): the wait stopped the execution on the store's error as on a lease the store refused, so after
        // "a store write failed" it logged "lease lost (it expired...); whichever node claims the run next carries on" (104),
        // and its span said lease_lost, where a child wait's same error said "stopped here after a failed store write" (105).
        var logs = new CapturingLoggerProvider();
        var (_, run, _) = await StoreErrorAfterTheTakeAsync(logs);
        var id = run.Id;

        Assert.Equal(RunStatus.Succeeded, run.Status);
        var error = Assert.Single(logs.Entries, e => e.EventId == 202);
        Assert.Contains(id, error.Message, StringComparison.Ordinal);
        Assert.StartsWith("System.TimeoutException: connection dropped after commit", error.Exception, StringComparison.Ordinal);
        var stopped = Assert.Single(logs.Entries, e => e.EventId == 105);
        Assert.Contains(id, stopped.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Entries, e => e.EventId == 104);
    }

    /// <summary>
    /// A run suspended on "go" is sent "one"; the store throws (a dropped connection) once, after it committed the take.
    /// The execution stops on the error with its lease left to expire; past it, the next claim takes the same event again.
    /// Returns the run as the error left it, as it ended, and its stored events.
    /// </summary>
    private static async Task<(RunRecord Interrupted, RunRecord Ended, IReadOnlyList<EventRecord> Events)> StoreErrorAfterTheTakeAsync(CapturingLoggerProvider? logs)
    {
        HookedEvents? hooked = null;
        var thrown = 0;
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, string>("waiter", async (ctx, _, ct) => await ctx.WaitForEventAsync<string>("go", cancellationToken: ct)),
            logs: logs,
            configureServices: Hooked(h => hooked = h));
        _ = node.Services.GetRequiredService<IEventStore>();
        hooked!.AfterConsume = (_, result) =>
            result.Event is not null && Interlocked.Exchange(ref thrown, 1) == 0
                ? throw new TimeoutException("connection dropped after commit")
                : Task.CompletedTask;
        var id = await node.StartRunAsync("waiter");
        await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);

        await node.Client.SendEventAsync(id, "go", JsonSerializer.SerializeToElement("one"));
        var interrupted = await node.WaitForIdleAsync(id, _ => thrown == 1);
        await node.AdvanceWhenClaimLoopWaitsAsync(TimeSpan.FromSeconds(31));
        var ended = await node.WaitForEndAsync(id);
        return (interrupted, ended, await node.Store.Events.GetEventsAsync(id));
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    public void Validate_DotSegmentNames_Refused(string name) =>
        Assert.Equal("an event name cannot be '.' or '..'", EventNames.Validate(name));

    [Fact]
    public async Task WhenAll_WaitWithoutTimeoutBesideAWaitWithTimeout_RunWakesAtThatDeadline()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("both", async (ctx, _, ct) =>
        {
            var forever = ctx.WaitForEventAsync<string>("b", cancellationToken: ct);
            var bounded = ctx.WaitForEventAsync<string>("a", TimeSpan.FromHours(1), ct);
            try
            {
                await Task.WhenAll(forever, bounded);
                return "both";
            }
            catch (EventTimeoutException e)
            {
                return "timed out: " + e.EventName;
            }
        }));
        var id = await node.StartRunAsync("both");
        var waiting = await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);

        // Before: 9999-01-01 (the wait the await threw has no timeout), so the timeout of "a" never fired.
        Assert.Equal(Start.AddHours(1), waiting.RunAfter);
    }

    [Fact]
    public async Task WhenAny_OfTwoWaits_TheSecondOnesEventArrives_RunTakesItAndEnds()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("either", async (ctx, _, ct) =>
        {
            var approved = ctx.WaitForEventAsync<string>("approved", cancellationToken: ct);
            var rejected = ctx.WaitForEventAsync<string>("rejected", cancellationToken: ct);
            var winner = await Task.WhenAny(approved, rejected);
            return (winner == approved ? "approved by " : "rejected by ") + await winner;
        }));
        var id = await node.StartRunAsync("either");
        await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);

        await node.Client.SendEventAsync(id, "rejected", JsonSerializer.SerializeToElement("bob"));
        var run = await node.WaitForEndAsync(id);

        // Before: suspended until 9999 with "rejected" taken by its wait and nothing left to wake the run (the await threw
        // the suspension of "approved", and only "approved" was looked for after it).
        Assert.Equal((RunStatus.Succeeded, "\"rejected by bob\""), (run.Status, run.Output));
    }

    [Fact]
    public async Task WaitWithTimeout_EventStoredAfterTheDeadlineWhileNoNodeRan_TimesOut()
    {
        var path = EngineHarness.NewDatabasePath();
        Action<Baton.Hosting.BatonBuilder> workflows = b => b.AddWorkflow<int, string>("waiter", async (ctx, _, ct) =>
        {
            try
            {
                return await ctx.WaitForEventAsync<string>("approved", TimeSpan.FromHours(1), ct);
            }
            catch (EventTimeoutException)
            {
                return "timed out";
            }
        });
        string id;
        await using (var first = await EngineHarness.StartAsync(workflows, databasePath: path))
        {
            id = await first.StartRunAsync("waiter");
            await first.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null && r.RunAfter == Start.AddHours(1));
        }

        // No node runs from the deadline (01:00) until 02:00; the approval arrives at 01:30 through a client-only process.
        var clock = new ExactClock(Start.AddHours(1.5));
        await using (var sender = await EngineHarness.StartAsync(workflows, databasePath: path, time: clock, startServices: false))
        {
            Assert.Equal(EventSendOutcome.Stored, (await sender.Client.SendEventAsync(id, "approved", JsonSerializer.SerializeToElement("late"))).Outcome);
        }

        clock.SetUtcNow(Start.AddHours(2));
        await using var node = await EngineHarness.StartAsync(workflows, databasePath: path, time: clock);
        node.WakeWorker();
        var run = await node.WaitForEndAsync(id);

        // Before: "late", an event stored 30 minutes after the wait's deadline.
        Assert.Equal("\"timed out\"", run.Output);
    }
}
