namespace Baton.Runs;

/// <summary>Which runs to list, newest first, and which page.</summary>
public sealed record ListRunsRequest
{
    public string? Workflow { get; init; }
    public RunStatus? Status { get; init; }

    /// <summary>
    /// Only runs in one of these states, read in one statement (null or empty: any state; with <see cref="Status"/>, both
    /// apply). A caller that asks for each state in turn can miss a run moving from one to the next between its reads.
    /// </summary>
    public IReadOnlyCollection<RunStatus>? Statuses { get; init; }

    public DateTimeOffset? CreatedAfter { get; init; }
    public DateTimeOffset? CreatedBefore { get; init; }
    /// <summary>The id of the last run of the previous page; runs older than it are returned.</summary>
    public string? Cursor { get; init; }
    /// <summary>Only the children of this run (runs it started as awaited children).</summary>
    public string? ParentRunId { get; init; }
    public int Limit { get; init; } = 50;

    /// <summary>
    /// Only runs whose id sorts at or above this. The engine derives it from <see cref="CreatedAfter"/> (a run's id begins
    /// with its creation time), so the store walks its id index from there instead of every run newer than the page.
    /// </summary>
    public string? IdsFrom { get; init; }

    /// <summary>Only runs whose id sorts below this: the engine derives it from <see cref="CreatedBefore"/>, as <see cref="IdsFrom"/>.</summary>
    public string? IdsBelow { get; init; }

    /// <summary>
    /// Leaves each run's <c>Input</c> and <c>Output</c> null: a listing that shows neither (the API's run list, the
    /// dashboard's runs page) then reads none of them. With 100 KB inputs, a page of 500 allocated 96 MiB before.
    /// </summary>
    public bool WithoutPayloads { get; init; }
}

/// <summary>Which runs to count (see <see cref="RunCounts"/>).</summary>
public sealed record CountRunsRequest
{
    /// <summary>Count only runs of this workflow; null counts every workflow.</summary>
    public string? Workflow { get; init; }

    /// <summary>Count only runs in these states; null or empty counts every state.</summary>
    public IReadOnlyCollection<RunStatus>? Statuses { get; init; }
}

/// <summary>How many runs are in each state; a state with no runs is absent from <see cref="ByStatus"/> and reads as 0.</summary>
public sealed record RunCounts(IReadOnlyDictionary<RunStatus, long> ByStatus)
{
    /// <summary>No runs at all.</summary>
    public static RunCounts Empty { get; } = new(new Dictionary<RunStatus, long>());

    /// <summary>The runs in <paramref name="status"/>, 0 when there are none.</summary>
    public long this[RunStatus status] => ByStatus.GetValueOrDefault(status);

    /// <summary>The runs counted, over every state.</summary>
    public long Total => ByStatus.Values.Sum();
}
