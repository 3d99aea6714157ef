using Baton.Steps;
using Baton.Workflows;

namespace Baton.Apps.ReviewGateway.Forwarding;

/// <summary>
/// Forwards one accepted job to the worker node: one durable step <c>forward</c> with a per-attempt
/// timeout and the gateway's retry policy. Its runs are keyed by job id (concurrency key, limit 1), so
/// a job is forwarded by at most one active run at a time.
/// </summary>
internal sealed class ForwardJobWorkflow(WorkerNodeClient worker, GatewayOptions options) : Workflow<ForwardJob, ForwardResult>
{
    public const string Name = "review-forward";

    public override async Task<ForwardResult> RunAsync(IWorkflowContext context, ForwardJob input, CancellationToken cancellationToken)
    {
        context.SetPhase("forwarding");
        var status = await context.StepAsync(
            "forward",
            t => worker.EnqueueAsync(input, t),
            new StepOptions { Timeout = options.AttemptTimeout, Retry = options.RetryPolicy },
            cancellationToken: cancellationToken);
        context.SetPhase("forwarded");
        return new ForwardResult(input.JobId, status);
    }
}
