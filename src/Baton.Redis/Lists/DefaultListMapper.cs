using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Baton.Inbox;

namespace Baton.Redis;

/// <summary>A plan plus, for the default mapper, the item behind each message (so an inbox refusal dead-letters that item).</summary>
internal sealed record MappedBatch(RedisBatchPlan Plan, IReadOnlyList<string>? ItemOfMessage);

/// <summary>The default mapping: one message per item, the item parsed as JSON, keyed by the item's hash.</summary>
internal static class DefaultListMapper
{
    public static MappedBatch Map(RedisListBatch batch, string workflow)
    {
        var messages = new List<InboxMessage>(batch.Items.Count);
        var items = new List<string>(batch.Items.Count);
        var rejected = new List<RejectedItem>();
        foreach (var item in batch.Items)
        {
            JsonElement input;
            try
            {
                using var document = JsonDocument.Parse(item);
                input = document.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                rejected.Add(new RejectedItem(item, RejectedItem.NotJsonReason(ex)));
                continue;
            }

            messages.Add(new InboxMessage { MessageId = MessageId(batch.ListKey, item), Workflow = workflow, Input = input });
            items.Add(item);
        }

        return new MappedBatch(new RedisBatchPlan(messages, rejected), items);
    }

    /// <summary><c>{listKey}:{hex SHA-256 of item}</c>, or the list key's hash in its place when that passes the inbox's limit.</summary>
    public static string MessageId(string listKey, string item)
    {
        var itemHash = Hash(item);
        var id = $"{listKey}:{itemHash}";
        return id.Length <= InboxLimits.MaxMessageIdLength ? id : $"{Hash(listKey)}:{itemHash}";
    }

    /// <summary>The hex SHA-256 of the list key and the items (each length-prefixed), stable for the same batch.</summary>
    public static string BatchId(string listKey, IReadOnlyList<string> items)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Append(hash, listKey);
        foreach (var item in items)
        {
            Append(hash, item);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void Append(IncrementalHash hash, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        hash.AppendData(BitConverter.GetBytes(bytes.Length));
        hash.AppendData(bytes);
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
