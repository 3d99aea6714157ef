using System.Collections.Concurrent;
using Baton.Hosting;
using Baton.Workflows;

namespace Baton.Core.Tests.Support;

/// <summary>
/// The shape of the tests that cancel a run after it caught a failure: a workflow <c>name</c> calls <c>risky</c>, which fails
/// for good; it catches the <typeparamref name="TFailure"/>, takes the fallback step <c>backup</c>, whose compensation adds
/// "backup" to <c>undone</c>, then sleeps an hour (suspended: the run to cancel).
/// </summary>
internal static class CaughtFailureWorkflow<TFailure>
    where TFailure : Exception
{
    public static void Add(BatonBuilder b, string name, Func<IWorkflowContext, CancellationToken, Task> risky, ConcurrentQueue<string> undone) =>
        b.AddWorkflow<int, int>(name, async (ctx, _, ct) =>
        {
            try
            {
                await risky(ctx, ct);
            }
            catch (TFailure)
            {
                await ctx.StepAsync("backup", _ => Task.FromResult(1), compensate: (_, _) => { undone.Enqueue("backup"); return Task.CompletedTask; }, cancellationToken: ct);
            }

            await ctx.DelayAsync("wait", TimeSpan.FromHours(1), ct);
            return 0;
        });
}
