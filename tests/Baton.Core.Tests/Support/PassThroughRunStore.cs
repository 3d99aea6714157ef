using Baton.Runs;
using Baton.Storage;

namespace Baton.Core.Tests.Support;

/// <summary>The real run store behind a wrapper a test derives from to change one call (hold it, slow it, fail it).</summary>
internal abstract class PassThroughRunStore : IRunStore
{
    /// <summary>The store every call goes to unless overridden.</summary>
    protected IRunStore Inner { get; set; } = null!;

    public virtual Task<CreateRunResult> CreateRunAsync(CreateRunRequest request, CancellationToken cancellationToken = default) => Inner.CreateRunAsync(request, cancellationToken);

    public virtual Task<IReadOnlyList<CreateRunResult>> CreateRunsAsync(CreateRunsRequest request, CancellationToken cancellationToken = default) => Inner.CreateRunsAsync(request, cancellationToken);

    public virtual Task<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken = default) => Inner.GetRunAsync(runId, cancellationToken);

    public virtual Task<RunRecordPage> ListRunsAsync(ListRunsRequest request, CancellationToken cancellationToken = default) => Inner.ListRunsAsync(request, cancellationToken);

    public virtual Task<RunCounts> CountRunsAsync(CountRunsRequest request, CancellationToken cancellationToken = default) => Inner.CountRunsAsync(request, cancellationToken);

    public virtual Task<IReadOnlyList<RunRecord>> ClaimRunsAsync(ClaimRunsRequest request, CancellationToken cancellationToken = default) => Inner.ClaimRunsAsync(request, cancellationToken);

    public virtual Task<RenewLeasesResult> RenewLeasesAsync(RenewLeasesRequest request, CancellationToken cancellationToken = default) => Inner.RenewLeasesAsync(request, cancellationToken);

    public virtual Task<bool> ReleaseLeaseAsync(ReleaseLeaseRequest request, CancellationToken cancellationToken = default) => Inner.ReleaseLeaseAsync(request, cancellationToken);

    public virtual Task<bool> UpdateRunAsync(UpdateRunRequest request, CancellationToken cancellationToken = default) => Inner.UpdateRunAsync(request, cancellationToken);

    public virtual Task<CancelRunRecordResult> CancelRunAsync(CancelRunRequest request, CancellationToken cancellationToken = default) => Inner.CancelRunAsync(request, cancellationToken);

    public virtual Task<RetryRunRecordResult> RetryRunAsync(RetryRunRequest request, CancellationToken cancellationToken = default) => Inner.RetryRunAsync(request, cancellationToken);

    public virtual Task<int> PruneRunsAsync(PruneRunsRequest request, CancellationToken cancellationToken = default) => Inner.PruneRunsAsync(request, cancellationToken);
}
