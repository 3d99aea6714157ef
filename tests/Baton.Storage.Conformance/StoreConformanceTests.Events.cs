using Baton.Runs;
using Baton.Storage;

namespace Baton.Storage.Conformance;

public abstract partial class StoreConformanceTests
{
    private static SendEventRequest Event(string runId, string name, string? payload = null, string? key = null, DateTimeOffset? now = null) => new()
    {
        RunId = runId, Name = name, Payload = payload, IdempotencyKey = key, Now = now ?? T0.AddSeconds(1),
    };

    private static ConsumeEventRequest Consume(string runId, string name, string stepKey, string owner = "node-a") => new()
    {
        RunId = runId, Owner = owner, Name = name, StepKey = stepKey, Now = T0.AddSeconds(2),
    };

    /// <summary>
    /// Leases a run to node-a, then stores it suspended until <paramref name="until"/> with no lease, waiting for the events
    /// named in <paramref name="wakesOn"/> (null: any event wakes it).
    /// </summary>
    private static async Task<RunRecord> CreateSuspendedAsync(IBatonStore store, DateTimeOffset until, IReadOnlyList<string>? wakesOn = null)
    {
        var run = await CreateClaimedAsync(store, "node-a");
        Assert.True(await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id, Owner = "node-a", Now = T0, Status = RunStatus.Suspended, RunAfter = until, ReleaseLease = true, WakesOn = wakesOn,
        }));
        return run;
    }

    [Fact]
    public async Task SendEventAsync_ActiveRun_StoresEventUnconsumed()
    {
        var store = await NewStoreAsync();
        var run = await CreateAsync(store, NewRun());

        var result = await store.Events.SendEventAsync(Event(run.Id, "approved", """{"by":"ann"}""", "k1"));

        Assert.Equal(SendEventOutcome.Stored, result.Outcome);
        var stored = Assert.Single(await store.Events.GetEventsAsync(run.Id));
        Assert.Equal((run.Id, "approved", """{"by":"ann"}""", "k1", T0.AddSeconds(1)),
            (stored.RunId, stored.Name, stored.Payload, stored.IdempotencyKey, stored.StoredAt));
        Assert.Null(stored.ConsumedAt);
        Assert.Equal(result.Event!.Sequence, stored.Sequence);
    }

    [Fact]
    public async Task SendEventAsync_SameIdempotencyKeyTwice_StoresOneEvent()
    {
        var store = await NewStoreAsync();
        var run = await CreateAsync(store, NewRun());

        var first = await store.Events.SendEventAsync(Event(run.Id, "approved", "1", "k1"));
        var second = await store.Events.SendEventAsync(Event(run.Id, "approved", "2", "k1"));

        Assert.Equal(SendEventOutcome.Existing, second.Outcome);
        Assert.Equal(first.Event!.Sequence, second.Event!.Sequence);
        Assert.Equal("1", Assert.Single(await store.Events.GetEventsAsync(run.Id)).Payload);
    }

    [Fact]
    public async Task SendEventAsync_UnknownRun_ReturnsRunNotFoundAndStoresNothing()
    {
        var store = await NewStoreAsync();
        var missing = NewId();

        var result = await store.Events.SendEventAsync(Event(missing, "approved"));

        Assert.Equal(SendEventOutcome.RunNotFound, result.Outcome);
        Assert.Empty(await store.Events.GetEventsAsync(missing));
    }

    [Fact]
    public async Task SendEventAsync_FinishedRun_ReturnsRunFinishedAndStoresNothing()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await FinishAsync(store, run.Id, "node-a", RunStatus.Succeeded, T0);

        var result = await store.Events.SendEventAsync(Event(run.Id, "approved"));

        Assert.Equal(SendEventOutcome.RunFinished, result.Outcome);
        Assert.Empty(await store.Events.GetEventsAsync(run.Id));
    }

    [Fact]
    public async Task SendEventAsync_SuspendedRun_MakesItDueAtOnce()
    {
        var store = await NewStoreAsync();
        var run = await CreateSuspendedAsync(store, T0.AddDays(1));

        await store.Events.SendEventAsync(Event(run.Id, "approved", now: T0.AddSeconds(5)));

        Assert.Equal(T0.AddSeconds(5), (await GetAsync(store, run.Id)).RunAfter);
        Assert.Contains(await ClaimAsync(store, "node-b", T0.AddSeconds(5)), r => r.Id == run.Id);
    }

    [Fact]
    public async Task SendEventAsync_SuspendedRunWaitingForOtherNames_StoredButRunStaysAsleep()
    {
        var store = await NewStoreAsync();
        var run = await CreateSuspendedAsync(store, T0.AddDays(1), wakesOn: ["approved", "rejected"]);
        var retryWait = await CreateSuspendedAsync(store, T0.AddHours(1), wakesOn: []);

        var unrelated = await store.Events.SendEventAsync(Event(run.Id, "approve", now: T0.AddSeconds(5)));
        await store.Events.SendEventAsync(Event(retryWait.Id, "approved", now: T0.AddSeconds(5)));

        Assert.Equal(SendEventOutcome.Stored, unrelated.Outcome);
        Assert.Equal(T0.AddDays(1), (await GetAsync(store, run.Id)).RunAfter);
        Assert.Equal(T0.AddHours(1), (await GetAsync(store, retryWait.Id)).RunAfter);
        Assert.DoesNotContain(await ClaimAsync(store, "node-b", T0.AddSeconds(5)), r => r.Id == run.Id || r.Id == retryWait.Id);
    }

    [Fact]
    public async Task SendEventAsync_SuspendedRunWaitingForThatName_MakesItDueAtOnce()
    {
        var store = await NewStoreAsync();
        var run = await CreateSuspendedAsync(store, T0.AddDays(1), wakesOn: ["approved", "rejected"]);

        await store.Events.SendEventAsync(Event(run.Id, "rejected", now: T0.AddSeconds(5)));

        Assert.Equal(T0.AddSeconds(5), (await GetAsync(store, run.Id)).RunAfter);
        Assert.Contains(await ClaimAsync(store, "node-b", T0.AddSeconds(5)), r => r.Id == run.Id);
    }

    [Fact]
    public async Task UpdateRunAsync_SuspendedAgainWithoutNames_AnyEventWakesItAsBefore()
    {
        var store = await NewStoreAsync();
        var run = await CreateSuspendedAsync(store, T0.AddDays(1), wakesOn: ["approved"]);
        Assert.Contains(await ClaimAsync(store, "node-a", T0.AddDays(1)), r => r.Id == run.Id);
        Assert.True(await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id, Owner = "node-a", Now = T0.AddDays(1), Status = RunStatus.Suspended, RunAfter = T0.AddDays(2), ReleaseLease = true,
        }));

        await store.Events.SendEventAsync(Event(run.Id, "anything", now: T0.AddDays(1).AddSeconds(5)));

        Assert.Equal(T0.AddDays(1).AddSeconds(5), (await GetAsync(store, run.Id)).RunAfter);
    }

    [Fact]
    public async Task ConsumeEventAsync_TwoEventsOneName_TakesThemOnceEachInStoredOrder()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await store.Events.SendEventAsync(Event(run.Id, "item", "1"));
        await store.Events.SendEventAsync(Event(run.Id, "other", "x"));
        await store.Events.SendEventAsync(Event(run.Id, "item", "2"));

        var first = await store.Events.ConsumeEventAsync(Consume(run.Id, "item", "event:item"));
        var second = await store.Events.ConsumeEventAsync(Consume(run.Id, "item", "event:item#2"));
        var third = await store.Events.ConsumeEventAsync(Consume(run.Id, "item", "event:item#3"));

        Assert.Equal(("1", "2"), (first.Event!.Payload, second.Event!.Payload));
        Assert.True(third.LeaseHeld);
        Assert.Null(third.Event);
        var events = await store.Events.GetEventsAsync(run.Id);
        Assert.Equal(["event:item", null, "event:item#2"], events.Select(e => e.ConsumedBy));
        Assert.Equal(T0.AddSeconds(2), events[0].ConsumedAt);
    }

    [Fact]
    public async Task RetryRunAsync_WaitFailedOnTheEventItTook_MarksItTakenByThatAttemptSoTheNextAttemptTakesTheNext()
    {
        // A payload the wait could not read: the run failed at that wait, and a retry waits for the next event of the name.
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await store.Events.SendEventAsync(Event(run.Id, "approved", "\"unreadable\""));
        await store.Events.SendEventAsync(Event(run.Id, "approved", "{\"by\":\"ann\"}"));
        await store.Events.ConsumeEventAsync(Consume(run.Id, "approved", "event:approved"));
        await store.Steps.RecordAttemptEndedAsync(new AttemptEndedRequest
        {
            RunId = run.Id, Owner = "node-a", StepKey = "event:approved", Kind = StepKind.Event, Attempt = 1, StartedAt = T0, EndedAt = T0.AddSeconds(2),
            Outcome = AttemptOutcome.Failed, StepStatus = StepStatus.Failed, ErrorType = "Baton.Events.EventPayloadException", ErrorMessage = "cannot be read",
        });
        await FinishAsync(store, run.Id, "node-a", RunStatus.Failed, T0.AddSeconds(2), failedStep: "event:approved");

        await store.Runs.RetryRunAsync(new RetryRunRequest(run.Id, T0.AddMinutes(1), null));
        var claimed = await ClaimAsync(store, "node-b", T0.AddMinutes(1));
        var taken = await store.Events.ConsumeEventAsync(Consume(run.Id, "approved", "event:approved", owner: "node-b"));

        Assert.Contains(claimed, r => r.Id == run.Id);
        Assert.Equal("{\"by\":\"ann\"}", taken.Event!.Payload);
        Assert.Equal(["event:approved@1", "event:approved"], (await store.Events.GetEventsAsync(run.Id)).Select(e => e.ConsumedBy));
    }

    [Fact]
    public async Task ConsumeEventAsync_StoredBy_TakesOnlyAnEventStoredByThen()
    {
        // A wait's deadline: an event stored after it is left, one stored at or before it taken.
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await store.Events.SendEventAsync(Event(run.Id, "late", "1", now: T0.AddSeconds(10)));
        await store.Events.SendEventAsync(Event(run.Id, "ontime", "2", now: T0.AddSeconds(10)));

        var late = await store.Events.ConsumeEventAsync(Consume(run.Id, "late", "event:late") with { StoredBy = T0.AddSeconds(9) });
        var onTime = await store.Events.ConsumeEventAsync(Consume(run.Id, "ontime", "event:ontime") with { StoredBy = T0.AddSeconds(10) });
        var noLimit = await store.Events.ConsumeEventAsync(Consume(run.Id, "late", "event:late#2"));

        Assert.Equal((true, null), (late.LeaseHeld, late.Event));
        Assert.Equal("2", onTime.Event!.Payload);
        Assert.Equal("1", noLimit.Event!.Payload);
    }

    [Fact]
    public async Task ConsumeEventAsync_SameStepAgain_ReturnsTheEventItTookBefore()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await store.Events.SendEventAsync(Event(run.Id, "item", "1"));
        await store.Events.SendEventAsync(Event(run.Id, "item", "2"));

        var first = await store.Events.ConsumeEventAsync(Consume(run.Id, "item", "event:item"));
        var again = await store.Events.ConsumeEventAsync(Consume(run.Id, "item", "event:item"));

        Assert.Equal(first.Event!.Sequence, again.Event!.Sequence);
        Assert.Single(await store.Events.GetEventsAsync(run.Id), e => e.ConsumedAt is null);
    }

    [Fact]
    public async Task ConsumeEventAsync_OwnerWithoutLease_TakesNothing()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await store.Events.SendEventAsync(Event(run.Id, "item", "1"));

        var result = await store.Events.ConsumeEventAsync(Consume(run.Id, "item", "event:item", owner: "node-b"));

        Assert.False(result.LeaseHeld);
        Assert.Null(result.Event);
        Assert.Null(Assert.Single(await store.Events.GetEventsAsync(run.Id)).ConsumedAt);
    }

    [Fact]
    public async Task WakeIfEventStoredAsync_EventOfThatNameWaiting_MakesSuspendedRunDue()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        // Stored while the run still held its lease (it was about to suspend): the send could not wake it.
        await store.Events.SendEventAsync(Event(run.Id, "approved"));
        Assert.True(await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id, Owner = "node-a", Now = T0, Status = RunStatus.Suspended, RunAfter = T0.AddDays(1), ReleaseLease = true,
        }));

        var other = await store.Events.WakeIfEventStoredAsync(new WakeIfEventStoredRequest { RunId = run.Id, Name = "rejected", Now = T0.AddSeconds(3) });
        Assert.Equal(T0.AddDays(1), (await GetAsync(store, run.Id)).RunAfter);
        var woken = await store.Events.WakeIfEventStoredAsync(new WakeIfEventStoredRequest { RunId = run.Id, Name = "approved", Now = T0.AddSeconds(3) });

        Assert.False(other);
        Assert.True(woken);
        Assert.Equal(T0.AddSeconds(3), (await GetAsync(store, run.Id)).RunAfter);
    }

    [Fact]
    public async Task PruneRunsAsync_FinishedRunWithEvents_DeletesItsEvents()
    {
        var store = await NewStoreAsync();
        var run = await CreateAsync(store, NewRun(now: T0) with { Id = Guid.CreateVersion7(T0).ToString("N") });
        Assert.Contains(await ClaimAsync(store, "node-a", T0), r => r.Id == run.Id);
        await store.Events.SendEventAsync(Event(run.Id, "approved"));
        await FinishAsync(store, run.Id, "node-a", RunStatus.Succeeded, T0.AddMinutes(1));

        Assert.Equal(1, await store.Runs.PruneRunsAsync(PruneBefore(T0.AddDays(1))));

        Assert.Empty(await store.Events.GetEventsAsync(run.Id));
    }
}
