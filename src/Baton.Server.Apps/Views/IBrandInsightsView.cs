namespace Baton.Server.Views;

/// <summary>One brand the brand insights app is processing on this node.</summary>
/// <param name="Brand">The brand.</param>
/// <param name="Merged">Chunks merged into its summary by this process since it started.</param>
/// <param name="Duplicates">Chunks skipped as already merged, by this process.</param>
/// <param name="Failed">Chunks dead-lettered onto <c>failed:brand:&lt;brand&gt;</c>, by this process.</param>
/// <param name="Backlog">Chunks waiting in the brand's Redis list now, or null when Redis did not answer.</param>
public sealed record BrandView(string Brand, long Merged, long Duplicates, long Failed, long? Backlog);

/// <summary>What the brand insights app's <c>/health</c> and metrics report, per brand.</summary>
/// <param name="RedisConnected">Whether Redis answers.</param>
/// <param name="OrchestratorId">The app's orchestrator id.</param>
/// <param name="Brands">The brands being processed (at most 200, in name order).</param>
/// <param name="TotalBrands">How many brands are being processed in all.</param>
public sealed record BrandInsightsView(bool RedisConnected, string OrchestratorId, IReadOnlyList<BrandView> Brands, int TotalBrands);

/// <summary>The brand insights app's state for the dashboard (registered by the app when it is enabled; absent otherwise).</summary>
public interface IBrandInsightsView
{
    /// <summary>Reads the brands, their counters and their backlogs.</summary>
    Task<BrandInsightsView> GetAsync(CancellationToken cancellationToken = default);
}
