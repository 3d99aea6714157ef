using Baton.Retries;
using Baton.Steps;
using Baton.Workflows;

namespace Baton.Apps.ReviewGateway.Forwarding;

/// <summary>
/// Forwards one accepted job to the worker node: one durable step (<c>forward</c>) under the gateway's retry policy,
/// each attempt with its own timeout. Backoffs past the engine's RetrySuspendThreshold suspend the run and give its
/// lease and worker slot back, so an outage with many jobs waiting holds no threads, and a restart resumes each job
/// at its next attempt, at the time it was due (the engine's jitter is a function of run, step and attempt). A 4xx
/// answer fails the step, and the run, at once. Runs are keyed by job id (concurrency key, limit 1): one active
/// forward per job.
/// </summary>
internal sealed class ForwardJobWorkflow(WorkerNodeClient worker, GatewayOptions options, TimeProvider time) : Workflow<ForwardJob, ForwardResult>
{
    public const string Name = "review-forward";

    public override async Task<ForwardResult> RunAsync(IWorkflowContext context, ForwardJob input, CancellationToken cancellationToken)
    {
        context.SetPhase("forwarding");
        var status = await context.StepAsync(
            "forward",
            t => AttemptAsync(context, input, t),
            new StepOptions { Retry = options.RetryPolicy },
            cancellationToken: cancellationToken);
        context.SetPhase("forwarded");
        return new ForwardResult(input.JobId, status);
    }

    /// <summary>
    /// One attempt with its own timeout: the worker's 2xx status, or a retryable failure (connection error,
    /// 5xx/408/429, timeout) that the step's retry policy tries again after its backoff; a 4xx throws
    /// <see cref="NonRetryableException"/> and fails the run; the run's own cancellation propagates.
    /// </summary>
    private async Task<int> AttemptAsync(IWorkflowContext context, ForwardJob input, CancellationToken cancellationToken)
    {
        context.SetPhase("forwarding");
        // The attempt's time starts once a connection to the worker is free: waiting for one is not the worker's delay.
        using var slot = await worker.WaitForConnectionAsync(cancellationToken).ConfigureAwait(false);
        // One token source per attempt, linked to the run's token and cancelled by the attempt's timeout.
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var timer = ArmTimeout(attempt);
        try
        {
            return await worker.EnqueueAsync(input, context.CorrelationId, attempt.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (attempt.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            Failed();
            throw new WorkerUnavailableException($"no answer within {options.AttemptTimeout.TotalSeconds:0.###} s");
        }
        catch (NonRetryableException)
        {
            // The worker refused the job itself (a 4xx): the run fails now, and its phase says why rather than "forwarding".
            context.SetPhase("rejected_by_worker");
            throw;
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Cancelled by neither the run nor this attempt's timeout: the handler's own connect timeout (its exception
            // says only "The operation was canceled.", the TimeoutException inside it says why).
            Failed();
            throw new WorkerUnavailableException($"could not connect to the worker node at {Baton.Diagnostics.UrlText.Authority(worker.EnqueueUri)}: {(ex.InnerException ?? ex).Message}");
        }
        catch (Exception ex) when (ex is HttpRequestException or WorkerUnavailableException or WorkerAskedToWaitException)
        {
            Failed();
            throw;
        }

        void Failed()
        {
            // Counted once per failed attempt: attempts are not replayed, so the counter stays right across resumes.
            context.IncrementProgress("forward.failedAttempts");
            context.SetPhase("waiting_for_worker");
        }
    }

    /// <summary>
    /// Cancels <paramref name="attempt"/> after the attempt timeout: on the system clock with the source's own timer
    /// (no second token source and registration per attempt), on any other clock (tests' fake one) with a timer of that clock.
    /// </summary>
    private ITimer? ArmTimeout(CancellationTokenSource attempt)
    {
        if (ReferenceEquals(time, TimeProvider.System))
        {
            attempt.CancelAfter(options.AttemptTimeout);
            return null;
        }

        return time.CreateTimer(static state => CancelUnlessDisposed((CancellationTokenSource)state!), attempt, options.AttemptTimeout, Timeout.InfiniteTimeSpan);
    }

    private static void CancelUnlessDisposed(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The attempt ended as the timer fired.
        }
    }
}
