using System.Text.Json;
using System.Text.Json.Nodes;

namespace Baton.Apps.DoctorOnboarding.Composition;

/// <summary>
/// Merges an account into a doctor's profile: the composite is the profile's fields plus the account's <c>fullName</c>,
/// <c>email</c> and <c>dob</c> and its id as <c>accountId</c> (account fields win over profile fields of the same name).
/// </summary>
public static class CompositeMerge
{
    private static readonly string[] AccountFields = ["fullName", "email", "dob"];

    public static JsonObject Merge(JsonElement? account, JsonElement? profile)
    {
        var composite = profile is { ValueKind: JsonValueKind.Object } p ? JsonNode.Parse(p.GetRawText())!.AsObject() : [];
        if (account is { ValueKind: JsonValueKind.Object } a)
        {
            if (a.TryGetProperty("id", out var id))
            {
                composite["accountId"] = JsonNode.Parse(id.GetRawText());
            }

            foreach (var field in AccountFields)
            {
                composite[field] = a.TryGetProperty(field, out var value) ? JsonNode.Parse(value.GetRawText()) : null;
            }
        }

        return composite;
    }

    /// <summary>The account id a profile belongs to: its <c>staffAccountId</c> or <c>accountId</c>.</summary>
    public static string? AccountIdOf(JsonElement profile) =>
        profile.ValueKind != JsonValueKind.Object ? null
        : profile.TryGetProperty("staffAccountId", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()
        : profile.TryGetProperty("accountId", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()
        : null;

    /// <summary>The items of a list reply: the array itself, or its <c>data</c> (a <c>PaginatedResponse</c>).</summary>
    public static IReadOnlyList<JsonElement> Items(JsonElement? reply) => reply switch
    {
        { ValueKind: JsonValueKind.Array } array => [.. array.EnumerateArray()],
        { ValueKind: JsonValueKind.Object } page when page.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array => [.. data.EnumerateArray()],
        _ => [],
    };

    /// <summary>The <c>meta</c> of a paginated reply (<c>PaginationMetadata</c>), or one made from the item count.</summary>
    public static JsonNode Meta(JsonElement? reply, int count) =>
        reply is { ValueKind: JsonValueKind.Object } page && page.TryGetProperty("meta", out var meta)
            ? JsonNode.Parse(meta.GetRawText())!
            : new JsonObject { ["page"] = 1, ["limit"] = count, ["total"] = count, ["totalPages"] = 1, ["hasNext"] = false, ["hasPrev"] = false };
}
