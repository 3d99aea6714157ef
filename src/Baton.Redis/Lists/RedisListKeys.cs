using StackExchange.Redis;

namespace Baton.Redis;

/// <summary>The keys a trigger keeps for itself, all under <see cref="RedisListTriggerOptions.KeyPrefix"/>.</summary>
internal sealed class RedisListKeys(string prefix, string consumerId)
{
    public string ConsumerId => consumerId;

    /// <summary>The set of every consumer id that registered (so a live consumer can find dead ones).</summary>
    public RedisKey Consumers { get; } = prefix + "consumers";

    public RedisKey Heartbeat => HeartbeatOf(consumerId);

    public RedisKey OwnLists => ListsOf(consumerId);

    public RedisKey Processing(string listKey) => ProcessingPrefixOf(consumerId) + listKey;

    /// <summary>The token of this consumer's last acknowledgement of <paramref name="listKey"/> that dead-lettered items.</summary>
    public RedisKey Acked(string listKey) => prefix + "acked:" + consumerId + ":" + listKey;

    public RedisKey HeartbeatOf(string consumer) => prefix + "consumer:" + consumer;

    public RedisKey ListsOf(string consumer) => prefix + "consumer:" + consumer + ":lists";

    public string ProcessingPrefixOf(string consumer) => ProcessingPrefix(prefix, consumer);

    /// <summary>What every processing list of <paramref name="consumer"/> starts with.</summary>
    public static string ProcessingPrefix(string prefix, string consumer) => prefix + "processing:" + consumer + ":";
}
