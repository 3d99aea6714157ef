using System.Text.Json.Nodes;

namespace Baton.Simulators.DoctorServices;

/// <summary>
/// The two services' in-memory data, open for tests to inspect: accounts and profiles by id, the permissions assigned,
/// and every call received (pattern, in order). Thread-safe: every access takes <see cref="Gate"/>.
/// </summary>
public sealed class DoctorServicesState
{
    internal Lock Gate { get; } = new();

    internal Dictionary<string, JsonObject> AccountsById { get; } = new(StringComparer.Ordinal);

    internal Dictionary<string, JsonObject> ProfilesById { get; } = new(StringComparer.Ordinal);

    /// <summary>How many accounts hold each email (case-insensitive): a create checks it instead of scanning every account.</summary>
    internal Dictionary<string, int> EmailCounts { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Idempotency key → the entity created for it, as first created: a repeated create returns that entity (as it is now,
    /// or as it was created if it was removed since). The key outlives its entity, as an idempotency record does: a create
    /// delivered again after the saga removed what it made (a broker redelivering an unacknowledged request after a
    /// restart) makes nothing.
    /// </summary>
    internal Dictionary<string, JsonObject> CreatedByKey { get; } = new(StringComparer.Ordinal);

    internal List<string> CallLog { get; } = [];

    /// <summary>Account id → SHA-256 of the password it was created or last updated with, as a real service keeps a hash.</summary>
    internal Dictionary<string, string> PasswordHashes { get; } = new(StringComparer.Ordinal);

    /// <summary>True when account <paramref name="accountId"/>'s password is <paramref name="password"/> (what a sign-in would check).</summary>
    public bool HasPassword(string accountId, string password)
    {
        lock (Gate)
        {
            return PasswordHashes.TryGetValue(accountId, out var hash) && hash == HashOf(password);
        }
    }

    internal static string HashOf(string password) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(password)));

    /// <summary>A copy of the accounts (without their password hashes: see <see cref="HasPassword"/>).</summary>
    public IReadOnlyList<JsonObject> Accounts
    {
        get
        {
            lock (Gate)
            {
                return [.. AccountsById.Values.Select(a => (JsonObject)a.DeepClone())];
            }
        }
    }

    public IReadOnlyList<JsonObject> Profiles
    {
        get
        {
            lock (Gate)
            {
                return [.. ProfilesById.Values.Select(p => (JsonObject)p.DeepClone())];
            }
        }
    }

    /// <summary>Every pattern called, in the order received.</summary>
    public IReadOnlyList<string> Calls
    {
        get
        {
            lock (Gate)
            {
                return [.. CallLog];
            }
        }
    }

    /// <summary>The state as one JSON object (<c>{"accounts":[...],"profiles":[...],"calls":[...]}</c>), as the <c>*.debug.state</c> patterns answer.</summary>
    public JsonObject ToJson()
    {
        lock (Gate)
        {
            return new JsonObject
            {
                ["accounts"] = new JsonArray([.. AccountsById.Values.Select(a => a.DeepClone())]),
                ["profiles"] = new JsonArray([.. ProfilesById.Values.Select(p => p.DeepClone())]),
                ["calls"] = new JsonArray([.. CallLog.Select(c => (JsonNode?)JsonValue.Create(c))]),
            };
        }
    }

    /// <summary>Counts <paramref name="email"/> once more (<paramref name="delta"/> 1) or once less (-1); call under <see cref="Gate"/>.</summary>
    internal void CountEmail(string? email, int delta)
    {
        if (email is null)
        {
            return;
        }

        var count = EmailCounts.GetValueOrDefault(email) + delta;
        if (count > 0)
        {
            EmailCounts[email] = count;
        }
        else
        {
            EmailCounts.Remove(email);
        }
    }

    public void Reset()
    {
        lock (Gate)
        {
            AccountsById.Clear();
            EmailCounts.Clear();
            ProfilesById.Clear();
            CreatedByKey.Clear();
            CallLog.Clear();
        }
    }
}
