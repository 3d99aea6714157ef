using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Baton.Retries;
using Baton.Steps;
using Baton.Workflows;

namespace Baton.Apps.ReviewGateway.Forwarding;

/// <summary>
/// Forwards one accepted job to the worker node. Each attempt is its own durable step (<c>forward</c>,
/// <c>forward#2</c>, ...) that records the worker's answer; between attempts a durable timer
/// (<c>backoff</c>, <c>backoff#2</c>, ...) waits the retry policy's delay. Long waits suspend the run and
/// give its lease and worker slot back, so an outage with many jobs waiting holds no threads, and a
/// restart resumes each job at its next attempt. A 4xx answer fails the step, and the run, at once.
/// Runs are keyed by job id (concurrency key, limit 1): one active forward per job.
/// </summary>
internal sealed class ForwardJobWorkflow(WorkerNodeClient worker, GatewayOptions options, TimeProvider time) : Workflow<ForwardJob, ForwardResult>
{
    public const string Name = "review-forward";

    public override async Task<ForwardResult> RunAsync(IWorkflowContext context, ForwardJob input, CancellationToken cancellationToken)
    {
        context.SetPhase("forwarding");
        var policy = options.RetryPolicy;
        for (var attempt = 1; ; attempt++)
        {
            var outcome = await context.StepAsync(
                "forward",
                t => AttemptAsync(input, context.CorrelationId, t),
                new StepOptions { Retry = RetryPolicy.None },
                cancellationToken: cancellationToken);
            if (outcome.WorkerStatus is { } status)
            {
                context.SetPhase("forwarded");
                return new ForwardResult(input.JobId, status);
            }

            // A counter, not ReportError: replay after a resume runs this again, and a counter set twice stays right.
            context.SetProgress("forward.failedAttempts", attempt);
            if (attempt >= policy.MaxAttempts)
            {
                throw new WorkerUnavailableException($"job {input.JobId} not forwarded after {attempt} attempts; last error: {outcome.Error}");
            }

            context.SetPhase("waiting_for_worker");
            await context.DelayAsync("backoff", policy.NextDelay(attempt, JitterDraw(input.JobId, attempt)), cancellationToken);
            context.SetPhase("forwarding");
        }
    }

    /// <summary>
    /// One attempt with its own timeout. A retryable failure (connection error, 5xx/408/429, timeout) is
    /// the step's stored result, so replay after a restart sees the same history; a 4xx throws
    /// <see cref="NonRetryableException"/> and fails the run; the run's own cancellation propagates.
    /// </summary>
    private async Task<ForwardAttempt> AttemptAsync(ForwardJob input, string? correlationId, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(options.AttemptTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            return new ForwardAttempt(await worker.EnqueueAsync(input, correlationId, linked.Token).ConfigureAwait(false), null);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new ForwardAttempt(null, $"no answer within {options.AttemptTimeout.TotalSeconds:0.###} s");
        }
        catch (Exception ex) when (ex is HttpRequestException or WorkerUnavailableException)
        {
            return new ForwardAttempt(null, ex.Message);
        }
    }

    /// <summary>A jitter draw in [0, 1) fixed by job and attempt, so a replayed run computes the same delay.</summary>
    private static double JitterDraw(string jobId, int attempt)
    {
        var hash = BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes($"{jobId}#{attempt}")));
        return (hash >> 11) / (double)(1UL << 53);
    }
}

/// <summary>One forwarding attempt: the worker's 2xx status, or the retryable error.</summary>
public sealed record ForwardAttempt(int? WorkerStatus, string? Error);
