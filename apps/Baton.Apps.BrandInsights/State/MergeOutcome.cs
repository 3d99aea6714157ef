namespace Baton.Apps.BrandInsights.State;

/// <summary>What one batch did to its brand: chunks merged, skipped as already merged, dead-lettered; the brand's totals after it; its backlog.</summary>
public sealed record MergeOutcome(int Merged, int Duplicates, int Failed, long TotalChunks, double TotalMentions, long Backlog);
