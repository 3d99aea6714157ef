using Baton.Workers;
using Microsoft.Extensions.Time.Testing;

namespace Baton.Core.Tests.Workers;

/// <summary>
/// The stop reasons of an execution: a cancel request and an interrupt (shutdown, lost lease) share one token that stops
/// the run, and only an interrupt cancels the interrupt token. Lease expiry is in <see cref="LeaseFencingTests"/>.
/// </summary>
public sealed class ActiveRunTests
{
    private static readonly DateTimeOffset Now = LeaseFencingTests.Now;

    [Fact]
    public void RequestCancel_CancelsTheRunsTokenButNotTheInterruptToken()
    {
        using var run = LeaseFencingTests.Claimed(new FakeTimeProvider(Now));

        run.RequestCancel();

        Assert.True(run.CancelRequested);
        Assert.True(run.AnyToken.IsCancellationRequested);
        Assert.False(run.InterruptToken.IsCancellationRequested);
        Assert.False(run.Interrupted);
    }

    [Fact]
    public void Interrupt_IsInterruptedWhenTheRunsTokenCallbacksRun()
    {
        using var run = LeaseFencingTests.Claimed(new FakeTimeProvider(Now));
        bool? interruptedInCallback = null;
        bool? cancelInCallback = null;
        using var registration = run.AnyToken.Register(() =>
        {
            interruptedInCallback = run.Interrupted;
            cancelInCallback = run.CancelRequested;
        });

        run.Interrupt(leaseLost: false);

        // The executor's catch filters read Interrupted when the run's token stops the workflow.
        Assert.True(interruptedInCallback);
        Assert.False(cancelInCallback);
        Assert.True(run.InterruptToken.IsCancellationRequested);
        Assert.False(run.LeaseLost);
    }

    [Fact]
    public void RequestCancel_CancelRequestedWhenTheRunsTokenCallbacksRun()
    {
        using var run = LeaseFencingTests.Claimed(new FakeTimeProvider(Now));
        bool? cancelInCallback = null;
        using var registration = run.AnyToken.Register(() => cancelInCallback = run.CancelRequested);

        run.RequestCancel();

        Assert.True(cancelInCallback);
    }

    [Fact]
    public void Constructor_LeaseAlreadyExpired_InterruptedAsLeaseLostAtOnce()
    {
        var time = new FakeTimeProvider(Now);

        using var run = LeaseFencingTests.Claimed(time, Now.AddSeconds(-1));

        Assert.True(run.Interrupted);
        Assert.True(run.LeaseLost);
        Assert.True(run.AnyToken.IsCancellationRequested);
    }

    [Fact]
    public void LeaseRenewed_AfterTheExecutionEnded_IsIgnored()
    {
        var time = new FakeTimeProvider(Now);
        var run = LeaseFencingTests.Claimed(time);
        run.Dispose();

        // A heartbeat that read the run before its execution ended renews it after.
        var renew = Record.Exception(() => run.LeaseRenewed(Now.AddSeconds(60), Now));
        time.Advance(TimeSpan.FromSeconds(90));

        Assert.Null(renew);
        Assert.False(run.LeaseLost);
    }

    [Fact]
    public void RequestCancel_AfterTheExecutionEnded_IsIgnored()
    {
        var run = LeaseFencingTests.Claimed(new FakeTimeProvider(Now));
        run.Dispose();

        var cancel = Record.Exception(run.RequestCancel);
        var interrupt = Record.Exception(() => run.Interrupt(leaseLost: true));

        Assert.Null(cancel);
        Assert.Null(interrupt);
    }
}
