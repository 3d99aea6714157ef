using System.Text.Json;

namespace Baton.Hosting;

/// <summary>Engine settings of one node (section <c>Baton:Engine</c> in the server's configuration).</summary>
public sealed class BatonOptions
{
    /// <summary>
    /// This node's identity and lease owner name; it must stay the same across restarts of the node, so a restarted
    /// node takes back the leases its earlier process left at once instead of after <see cref="LeaseDuration"/>.
    /// The default is the host name plus a short hash of the current directory, e.g. <c>web-1-3f2a9c1b</c>; the
    /// Baton server hashes its content root instead, which stays the same whatever directory it is started from. Two processes started with the same node id work, but the second leases under a name
    /// of its own and cannot take back the first's leases after a crash: give each process of a host its own id.
    /// </summary>
    public string NodeId { get; set; } = DefaultNodeId(Environment.MachineName, Environment.CurrentDirectory);

    /// <summary>The default <see cref="NodeId"/>: <paramref name="host"/>, a dash and 8 hex digits of the SHA-256 of <paramref name="contentRoot"/>.</summary>
    public static string DefaultNodeId(string host, string contentRoot)
    {
        ArgumentNullException.ThrowIfNull(contentRoot);
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(contentRoot));
        return $"{host}-{Convert.ToHexStringLower(hash)[..8]}";
    }

    /// <summary>How long a claim lasts without a heartbeat. The default is 30 seconds.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often held leases are renewed. The default is 10 seconds (a third of the lease).</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often an idle worker looks for work it was not told about. The default is 1 second.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Runs executing at once on this node. The default is 256.</summary>
    public int MaxConcurrentRuns { get; set; } = 256;

    /// <summary>On shutdown, how long in-flight runs may take to finish before they are interrupted. The default is 30 seconds.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often live progress of executing runs is written. The default is 1 second.</summary>
    public TimeSpan ProgressFlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Entries kept in a run's error list. The default is 100.</summary>
    public int MaxErrors { get; set; } = 100;

    /// <summary>
    /// A durable timer with at least this much time left suspends the run (releasing its lease) instead of
    /// waiting in memory. The default is 5 seconds.
    /// </summary>
    public TimeSpan SuspendThreshold { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A step whose next attempt is due at least this far away, with no other step of the run in flight, stores the
    /// due time and suspends the run (releasing its lease and worker slot); any node runs the next attempt when it
    /// is due. Shorter backoffs wait in memory. The default is 1 second.
    /// </summary>
    public TimeSpan RetrySuspendThreshold { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// An attempt's start is written only once the attempt has run this long; an attempt that ends sooner
    /// is written once, start and end together, when it ends. This saves a store write per step for short
    /// steps. The price: an attempt cut off by a process crash within this time leaves no record (the step
    /// runs again on resume, as it would anyway, but that attempt is not counted). Zero writes every start
    /// at once. The default is 100 milliseconds.
    /// </summary>
    public TimeSpan AttemptStartWriteDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often the scheduler looks for due schedules. The default is 1 second.</summary>
    public TimeSpan SchedulerInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long finished runs (with their steps and attempts) and schedule fire records are kept after
    /// they completed; older ones are deleted every <see cref="PruneInterval"/>. Active runs are kept
    /// whatever their age. Zero keeps everything. The default is 30 days.
    /// </summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often old runs are pruned (see <see cref="Retention"/>). The default is 1 hour.</summary>
    public TimeSpan PruneInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Whether a run started on this node, due at once and with a free slot here, is created already leased
    /// to this node and starts here without a claim. The default is true; false creates every run pending
    /// for the claim loop (of any node) to take.
    /// </summary>
    public bool StartRunsLocally { get; set; } = true;

    /// <summary>Whether this node executes runs. The default is true.</summary>
    public bool RunWorker { get; set; } = true;

    /// <summary>Whether this node fires schedules. The default is true (fires stay unique across nodes).</summary>
    public bool RunScheduler { get; set; } = true;

    /// <summary>
    /// Serializer options for run inputs, outputs and step results. The default is the web defaults (camelCase
    /// names, case-insensitive reading). A new run's input is read with a copy that refuses fields its type lacks
    /// (<see cref="System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow"/>), whatever is set here.
    /// Set in code (<c>AddBaton(o =&gt; o.Json = ...)</c>), not from configuration.
    /// </summary>
    public JsonSerializerOptions Json { get; set; } = new(JsonSerializerDefaults.Web);
}
