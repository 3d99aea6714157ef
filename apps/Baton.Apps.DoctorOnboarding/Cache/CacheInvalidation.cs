using System.Text.Json;
using Baton.Apps.DoctorOnboarding.Composition;
using Baton.Apps.DoctorOnboarding.Contracts;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.DoctorOnboarding.Cache;

/// <summary>
/// The domain events that make cached composites stale, and <c>orchestrator.cache.invalidate</c>/<c>.clear</c>. An event
/// names its doctor by account id: <c>staff.account.*</c> by its <c>id</c> (or <c>accountId</c>), <c>doctor.profile.*</c>
/// by its <c>staffAccountId</c> (or <c>accountId</c>). The doctor's key and every list key are dropped; an event that
/// names no account drops every composite key (it cannot be told which doctor it was).
/// </summary>
public sealed class CacheInvalidation(CompositeCache cache, ILogger<CacheInvalidation> logger)
{
    /// <summary>The events listened for.</summary>
    public static IReadOnlyList<string> Events { get; } =
    [
        "doctor.profile.created", "doctor.profile.updated", "doctor.profile.deleted",
        "staff.account.created", "staff.account.updated", "staff.account.deleted",
    ];

    public async Task<long> OnEventAsync(string pattern, JsonElement data)
    {
        var id = pattern.StartsWith("staff.account.", StringComparison.Ordinal)
            ? Read(data, "id") ?? Read(data, "accountId")
            : Read(data, "staffAccountId") ?? Read(data, "accountId");
        var removed = await cache.InvalidateDoctorAsync(id).ConfigureAwait(false);
        Log.Invalidated(logger, removed, pattern, id);
        return removed;
    }

    /// <summary>
    /// <c>orchestrator.cache.invalidate</c>: <c>{"id"}</c> drops that doctor's key and every list key, <c>{"pattern"}</c> drops the
    /// keys matching a glob under <c>doctor:composite:</c> (e.g. <c>list:*</c>), <c>{}</c> drops every list key.
    /// Answers <c>{"invalidated": n}</c>.
    /// </summary>
    public async Task<long> InvalidateAsync(JsonElement data)
    {
        // Before: ToString threw out of the reader ("Internal server error", a handler failure logged with its stack).
        if ((Unreadable(data, "pattern") ?? Unreadable(data, "id")) is { } field)
        {
            throw new ReadRejectedException(DoctorErrors.Validation([DoctorCommandReader.UnreadableText(field)]));
        }

        if (Text(data, "pattern") is { } pattern)
        {
            return await cache.RemovePatternAsync(CacheKeys.Prefix + pattern).ConfigureAwait(false);
        }

        if (Text(data, "id") is not null && Read(data, "id") is null)
        {
            // Before, ignored: every list key was dropped as for {}, and the caller was not told its id was wrong.
            throw new ReadRejectedException(DoctorErrors.Validation(["id must not contain ':', '*', '?', '[' or ']'"]));
        }

        return Read(data, "id") is { } id
            ? await cache.InvalidateDoctorAsync(id).ConfigureAwait(false)
            : await cache.RemovePatternAsync(CacheKeys.AllLists).ConfigureAwait(false);
    }

    /// <summary><c>orchestrator.cache.clear</c>: drops every key under <c>doctor:composite:</c>.</summary>
    public Task<long> ClearAsync() => cache.RemovePatternAsync(CacheKeys.All);

    /// <summary>An id as a string: no glob characters or <c>:</c>, since it becomes part of a key.</summary>
    private static string? Read(JsonElement data, string name) =>
        Text(data, name) is { } text && text.AsSpan().IndexOfAny(":*?[]") < 0 ? text : null;

    /// <summary>
    /// A string or number field as text; null when absent, empty or not text: a string escaping half a UTF-16 surrogate
    /// pair (<c>"\ud800"</c>, valid JSON no .NET string holds) reads as no id, so an event naming its doctor so drops every
    /// composite (before: the reader threw, the event was dropped and nothing invalidated).
    /// </summary>
    private static string? Text(JsonElement data, string name) =>
        data.ValueKind == JsonValueKind.Object && data.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.String or JsonValueKind.Number
            && Unreadable(value) is false && value.ToString() is { Length: > 0 } text
            ? text
            : null;

    /// <summary><paramref name="name"/> if the field is a string that escapes half a surrogate pair, else null.</summary>
    private static string? Unreadable(JsonElement data, string name) =>
        data.ValueKind == JsonValueKind.Object && data.TryGetProperty(name, out var value) && Unreadable(value) ? name : null;

    private static bool Unreadable(JsonElement value) =>
        value.ValueKind == JsonValueKind.String && DoctorCommandReader.TextOf(value) is null;
}
