using Baton.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Core.Tests.Support;

/// <summary>The real step store behind a wrapper a test derives from to change one call (hold it, slow it, fail it).</summary>
internal abstract class PassThroughStepStore : IStepStore
{
    /// <summary>The store every call goes to unless overridden.</summary>
    protected IStepStore Inner { get; set; } = null!;

    /// <summary>For <c>EngineHarness.StartAsync</c>'s <c>configureServices</c>: this wrapper as the engine's step store, over the store's own.</summary>
    public Action<IServiceCollection> InPlaceOfTheStepStore() => services => services.AddSingleton<IStepStore>(sp =>
    {
        Inner = sp.GetRequiredService<IBatonStore>().Steps;
        return this;
    });

    public virtual Task<IReadOnlyList<StepRecord>> GetStepsAsync(string runId, CancellationToken cancellationToken = default) => Inner.GetStepsAsync(runId, cancellationToken);

    public virtual Task<IReadOnlyList<StepAttemptRecord>> GetAttemptsAsync(string runId, CancellationToken cancellationToken = default) => Inner.GetAttemptsAsync(runId, cancellationToken);

    public virtual Task<bool> RecordAttemptStartedAsync(AttemptStartedRequest request, CancellationToken cancellationToken = default) => Inner.RecordAttemptStartedAsync(request, cancellationToken);

    public virtual Task<bool> RecordAttemptEndedAsync(AttemptEndedRequest request, CancellationToken cancellationToken = default) => Inner.RecordAttemptEndedAsync(request, cancellationToken);
}
