namespace Baton.Apps.BrandInsights.Workflow;

/// <summary>The input of a <c>brand-merge</c> run: one batch moved from <c>result:brand:&lt;brand&gt;:chunks</c>, raw, oldest first.</summary>
/// <param name="Brand">The brand (the run's concurrency key).</param>
/// <param name="Chunks">The chunk payloads as the workers pushed them.</param>
/// <param name="Rejected">Items of the same batch already dead-lettered when it was taken from the list.</param>
public sealed record BrandBatch(string Brand, IReadOnlyList<string> Chunks, int Rejected = 0);
