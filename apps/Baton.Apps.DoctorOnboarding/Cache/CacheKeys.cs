using System.Security.Cryptography;
using System.Text.Json;

namespace Baton.Apps.DoctorOnboarding.Cache;

/// <summary>
/// The seed's Redis keys: <c>doctor:composite:&lt;id&gt;</c> for one doctor and <c>doctor:composite:list:&lt;hash&gt;</c> for
/// a list query, the hash being the first 32 hex digits of SHA-256 over the read's pattern and the query as canonical JSON
/// (object keys sorted at every level), so equal queries share a key whatever their key order. A GUID-shaped id is keyed in
/// its canonical form (see <see cref="Single"/>).
/// </summary>
public static class CacheKeys
{
    public const string Prefix = "doctor:composite:";
    public const string ListPrefix = Prefix + "list:";

    /// <summary>Every list key (a SCAN pattern).</summary>
    public const string AllLists = ListPrefix + "*";

    /// <summary>Every key of the cache (a SCAN pattern).</summary>
    public const string All = Prefix + "*";

    /// <summary>
    /// The key of one doctor. An id that parses as a GUID (in any of its spellings: upper case, braces, no hyphens) is keyed
    /// as the lower-case <c>"D"</c> form: a service that keeps ids as <c>uuid</c> finds the same doctor by any spelling, and
    /// its events name the id in its own (lower-case) form, so a read of <c>ABC...</c> cached under its own spelling was
    /// never dropped by <c>staff.account.updated {id: "abc..."}</c> and stayed stale for the key's TTL. Any other id is
    /// kept as typed: its case may tell two doctors apart.
    /// </summary>
    public static string Single(string id) => Prefix + (Guid.TryParse(id, out var guid) ? guid.ToString("D") : id);

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
