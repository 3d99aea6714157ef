using Baton.Inbox;
using Baton.Nodes;
using StackExchange.Redis;

namespace Baton.Redis;

/// <summary>Options of one reliable Redis list trigger (<c>AddRedisListTrigger</c>).</summary>
public sealed class RedisListTriggerOptions
{
    /// <summary>Fixed list keys to consume (together with those <see cref="DiscoverLists"/> returns).</summary>
    public IList<string> Lists { get; } = [];

    /// <summary>
    /// Lists discovered at run time, read at start and every <see cref="DiscoveryInterval"/>; lists no longer returned
    /// stop being read once their in-flight batch is finished (items still held for a conflict go back to the head of
    /// their list). An exception is logged and the previous set is kept. The default is none.
    /// </summary>
    public Func<IDatabase, CancellationToken, Task<IReadOnlyCollection<string>>>? DiscoverLists { get; set; }

    /// <summary>
    /// The lease key of a list, for triggers whose lists are shared out between processes by leases (as
    /// <see cref="DiscoverLists"/> may do): items are moved from a list only while its lease key holds this consumer's
    /// id (<see cref="ConsumerId"/>), checked in the same script that moves them. So a process that gives a lease away
    /// moves nothing more from that list from that moment on, not from its next discovery round, and the next holder's
    /// batches cannot overtake its last one. Items already in this consumer's processing list are offered whatever the
    /// lease says. A list for which it returns null is not checked. The default (null) is no check.
    /// </summary>
    public Func<string, string?>? ListLease { get; set; }

    /// <summary>How often <see cref="DiscoverLists"/> runs. The default is 30 seconds.</summary>
    public TimeSpan DiscoveryInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Names this consumer's processing lists (<c>{KeyPrefix}processing:{ConsumerId}:{listKey}</c>) and heartbeat key;
    /// it must stay the same across restarts of a process (so it takes back its own processing lists at start) and
    /// differ between processes: two live consumers with one id would share their processing lists, and one's
    /// acknowledgement could remove items the other has just moved. The default is the node's own name
    /// (<c>IBatonNodes.NodeId</c>, read when the trigger starts): <c>BatonOptions.NodeId</c>, or, on PostgreSQL, the
    /// name of its own that a second live process started with the same node id leases under.
    /// </summary>
    public string? ConsumerId { get; set; }

    /// <summary>Prefix of the keys the trigger keeps for itself (processing lists, heartbeats, consumer sets). The default is <c>baton:</c>.</summary>
    public string KeyPrefix { get; set; } = "baton:";

    /// <summary>
    /// The consumer id the trigger runs under: <see cref="ConsumerId"/> when set, else the node's own name. For code beside
    /// the trigger that must agree with it (a lease holder's id, a processing list to look at); read it once the host has
    /// started, when the node's name is settled.
    /// </summary>
    public string ConsumerIdOf(IBatonNodes nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        return ConsumerId ?? nodes.NodeId;
    }

    /// <summary>
    /// The processing list of <paramref name="consumerId"/> for <paramref name="listKey"/>
    /// (<c>{KeyPrefix}processing:{consumerId}:{listKey}</c>): the items it has moved from that list and not yet
    /// acknowledged. While it is empty, that consumer holds none of the list's items.
    /// </summary>
    public string ProcessingListKey(string consumerId, string listKey) => RedisListKeys.ProcessingPrefix(KeyPrefix, consumerId) + listKey;

    /// <summary>Items moved per round trip (atomically, from the head of the list to the processing list). 1 to 1,000; the default is 100.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>Lists handled at the same time. The default is 5.</summary>
    public int MaxConcurrentLists { get; set; } = 5;

    /// <summary>Longest wait between polls of an empty list (the wait doubles from 1 ms up to this). The default is 100 ms.</summary>
    public TimeSpan MaxIdleDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Delay before a batch with a message in <see cref="InboxOutcome.Conflict"/> is offered again (the same batch). The default is 20 ms.</summary>
    public TimeSpan ConflictDelay { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Longest wait between retries while Redis or the inbox fails (the wait doubles from 50 ms up to this). The default is 5 seconds.</summary>
    public TimeSpan MaxErrorDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often this consumer refreshes its heartbeat key and looks for dead consumers. The default is 5 seconds.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Time to live of the heartbeat key (<c>{KeyPrefix}consumer:{ConsumerId}</c>): a consumer whose key expired is dead,
    /// and any live consumer pushes its processing lists back onto the head of their source lists. The default is 30 seconds.
    /// </summary>
    public TimeSpan ConsumerTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Turns a batch into inbox messages. The default (null) is one message per item: workflow <see cref="Workflow"/>,
    /// input the item parsed as JSON, message id <c>{listKey}:{SHA-256 of the item}</c> (the SHA-256 of the list key
    /// replaces the key when the id would pass 200 characters). Items rejected by the mapper are dead-lettered raw.
    /// A batch held because one of its messages was in conflict is offered again with the plan it was mapped to, not
    /// mapped again (a busy brand's next batch waits out its run every <see cref="ConflictDelay"/>).
    /// </summary>
    public Func<RedisListBatch, RedisBatchPlan>? Map { get; set; }

    /// <summary>
    /// Optional: called with a list's key and the items it dead-lettered, once they are on the dead-letter list (the batch
    /// acknowledged). A batch offered again after a failure (its inbox write or acknowledgement failed, or the process
    /// restarted) is mapped again, so a count kept in <see cref="Map"/> can count an item more than once; here it counts once.
    /// </summary>
    public Action<string, IReadOnlyList<RejectedItem>>? DeadLettered { get; set; }

    /// <summary>The workflow the default mapper starts; required when <see cref="Map"/> is null.</summary>
    public string? Workflow { get; set; }

    /// <summary>
    /// Items longer than this many UTF-8 bytes are dead-lettered raw before mapping (a run's input is held in memory
    /// and stored whole). 0 turns the check off. The default is 1 MiB (1,048,576 bytes).
    /// </summary>
    public int MaxItemBytes { get; set; } = 1024 * 1024;

    /// <summary>Where rejected items go, raw (RPUSH), with the reason logged. The default is <c>{listKey}:failed</c>.</summary>
    public Func<string, string> DeadLetterKey { get; set; } = key => key + ":failed";
}

/// <summary>
/// Items moved from <paramref name="ListKey"/> in one round trip, oldest first. <paramref name="BatchId"/> is the hex
/// SHA-256 over the list key and the items, so a batch offered again (after a conflict or a crash) has the same id.
/// </summary>
public sealed record RedisListBatch(string ListKey, IReadOnlyList<string> Items, string BatchId);

/// <summary>What a batch becomes: messages for the inbox and items rejected with a reason (dead-lettered raw).</summary>
public sealed record RedisBatchPlan(IReadOnlyList<InboxMessage> Messages, IReadOnlyList<RejectedItem> Rejected)
{
    /// <summary>
    /// Optional: for each message (same order), the items it carries. When the inbox refuses a message, those items are
    /// dead-lettered raw, as the mapper's own rejects are; without it, the message's input JSON is dead-lettered instead.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<string>>? ItemsOfMessages { get; init; }
}

/// <summary>An item a mapper refused, with the reason logged when it is dead-lettered.</summary>
public sealed record RejectedItem(string Item, string Reason)
{
    /// <summary>
    /// The reason for an item that is not JSON, by where it breaks (<c>not JSON: invalid at line 1, byte 12</c>): not the
    /// reader's message, which quotes a bad literal with the rest of the item after it (<c>'nope, "token": "..."}' is an
    /// invalid JSON literal</c>), and the reason is logged.
    /// </summary>
    public static string NotJsonReason(System.Text.Json.JsonException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"not JSON: invalid at line {(exception.LineNumber ?? 0) + 1}, byte {(exception.BytePositionInLine ?? 0) + 1}");
    }
}
