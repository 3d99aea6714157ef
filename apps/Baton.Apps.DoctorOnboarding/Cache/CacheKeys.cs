using System.Security.Cryptography;
using System.Text.Json;

namespace Baton.Apps.DoctorOnboarding.Cache;

/// <summary>
/// The seed's Redis keys: <c>doctor:composite:&lt;id&gt;</c> for one doctor and <c>doctor:composite:list:&lt;hash&gt;</c> for
/// a list query, the hash being the first 32 hex digits of SHA-256 over the read's pattern and the query as canonical JSON
/// (object keys sorted at every level), so equal queries share a key whatever their key order.
/// </summary>
public static class CacheKeys
{
    public const string Prefix = "doctor:composite:";
    public const string ListPrefix = Prefix + "list:";

    /// <summary>Every list key (a SCAN pattern).</summary>
    public const string AllLists = ListPrefix + "*";

    /// <summary>Every key of the cache (a SCAN pattern).</summary>
    public const string All = Prefix + "*";

    public static string Single(string id) => Prefix + id;

    public static string List(string read, JsonElement query)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            writer.WriteStringValue(read);
            WriteCanonical(writer, query);
            writer.WriteEndArray();
        }

        var hash = SHA256.HashData(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        return ListPrefix + Convert.ToHexStringLower(hash.AsSpan(0, 16));
    }

    private static void WriteCanonical(Utf8JsonWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(property.Name);
                    WriteCanonical(writer, property.Value);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    WriteCanonical(writer, item);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.Undefined:
                writer.WriteNullValue();
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }
}
