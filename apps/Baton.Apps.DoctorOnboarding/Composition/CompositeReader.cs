using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Baton.Apps.DoctorOnboarding.Cache;
using Baton.Apps.DoctorOnboarding.Contracts;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.DoctorOnboarding.Composition;

/// <summary>
/// The read patterns: the cache first (a hit answers with the key's remaining TTL), else the services, then the merged
/// result is cached and answered with <c>cache: {hit: false, ttl}</c>. A single doctor is read from both services at
/// once; a list needs the first service's ids for the second call (README, "Choices").
/// </summary>
public sealed class CompositeReader(IDoctorServices services, CompositeCache cache, DoctorOptions options, ILogger<CompositeReader> logger)
{
    /// <summary><c>orchestrator.doctor.getComposite</c> with <c>{"id": accountId}</c>.</summary>
    public async Task<JsonElement> GetCompositeAsync(JsonElement query, CancellationToken cancellationToken = default)
    {
        var errors = new List<string>();
        var id = DoctorCommandReader.ReadId(query, "id", errors);
        if (id is null)
        {
            throw new ReadRejectedException(DoctorErrors.Validation(errors));
        }

        return await ReadAsync("getComposite", CacheKeys.Single(id), options.SingleTtlSeconds, async ct =>
        {
            var patterns = options.Patterns;
            var account = services.SendAsync(DoctorService.Accounts, patterns.AccountsFindOne, new { id }, options.ReadTimeout, ct);
            var profile = services.SendAsync(DoctorService.ProviderDirectory, patterns.ProfileGetByAccountId, new { accountId = id }, options.ReadTimeout, ct);
            await Task.WhenAll(account, profile).ConfigureAwait(false);
            return CompositeMerge.Merge(account.Result, profile.Result);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>orchestrator.doctor.searchComposite</c>: the directory's public list for the query, merged with the accounts of its doctors.</summary>
    public Task<JsonElement> SearchCompositeAsync(JsonElement query, CancellationToken cancellationToken = default) =>
        ReadAsync("searchComposite", ListKey("searchComposite", query), options.ListTtlSeconds, async ct =>
        {
            var patterns = options.Patterns;
            var page = await services.SendAsync(DoctorService.ProviderDirectory, patterns.ProfileGetPublicList, Passed(query), options.ReadTimeout, ct).ConfigureAwait(false);
            var profiles = CompositeMerge.Items(page);
            var ids = profiles.Select(CompositeMerge.AccountIdOf).OfType<string>().Distinct().ToList();
            var accounts = ids.Count == 0 ? [] : CompositeMerge.Items(await services.SendAsync(
                DoctorService.Accounts, patterns.AccountsFindAll, new { ids }, options.ReadTimeout, ct).ConfigureAwait(false));
            var byId = ById(accounts);
            var data = new JsonArray([.. profiles.Select(p => (JsonNode?)CompositeMerge.Merge(
                CompositeMerge.AccountIdOf(p) is { } accountId && byId.TryGetValue(accountId, out var account) ? account : null, p))]);
            return new JsonObject { ["data"] = data, ["meta"] = CompositeMerge.Meta(page, data.Count) };
        }, cancellationToken);

    /// <summary><c>orchestrator.doctor.listComposite</c>: the accounts' list for the query, each merged with its profile.</summary>
    public Task<JsonElement> ListCompositeAsync(JsonElement query, CancellationToken cancellationToken = default) =>
        ReadAsync("listComposite", ListKey("listComposite", query), options.ListTtlSeconds, async ct =>
        {
            var patterns = options.Patterns;
            var page = await services.SendAsync(DoctorService.Accounts, patterns.AccountsFindAll, Passed(query), options.ReadTimeout, ct).ConfigureAwait(false);
            var accounts = CompositeMerge.Items(page);
            var ids = accounts.Select(a => a.TryGetProperty("id", out var id) ? id.ToString() : null).OfType<string>().ToList();
            var profiles = ids.Count == 0 ? [] : CompositeMerge.Items(await services.SendAsync(
                DoctorService.ProviderDirectory, patterns.ProfileGetByAccountIds, new { accountIds = ids }, options.ReadTimeout, ct).ConfigureAwait(false));
            var byAccount = profiles.Where(p => CompositeMerge.AccountIdOf(p) is not null).GroupBy(p => CompositeMerge.AccountIdOf(p)!)
                .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
            var data = new JsonArray([.. accounts.Select(a => (JsonNode?)CompositeMerge.Merge(
                a, a.TryGetProperty("id", out var id) && byAccount.TryGetValue(id.ToString(), out var profile) ? profile : null))]);
            return new JsonObject { ["data"] = data, ["meta"] = CompositeMerge.Meta(page, data.Count) };
        }, cancellationToken);

    private async Task<JsonElement> ReadAsync(string read, string key, int ttl, Func<CancellationToken, Task<JsonObject>> load, CancellationToken cancellationToken)
    {
        if (await cache.GetAsync(key, read).ConfigureAwait(false) is { } hit)
        {
            try
            {
                return WithCacheField(hit.Json, hit.TtlSeconds);
            }
            catch (JsonException ex)
            {
                // Not a composite (written by something else, or cut short): read as a miss, and the load below overwrites it.
                Log.CacheValueUnreadable(logger, key, ex.Message);
            }
        }

        var epoch = await cache.EpochAsync().ConfigureAwait(false);
        var composite = await load(cancellationToken).ConfigureAwait(false);
        if (epoch is not null)
        {
            // Not stored when an invalidation came while loading: what was loaded may be from before the change it announced.
            await cache.SetIfUnchangedAsync(key, composite.ToJsonString(), ttl, epoch).ConfigureAwait(false);
        }

        composite["cache"] = new JsonObject { ["hit"] = false, ["ttl"] = ttl };
        return JsonSerializer.SerializeToElement(composite);
    }

    /// <summary>
    /// The cached object with <c>"cache":{"hit":true,"ttl":...}</c> added before its closing brace: a hit costs one parse of
    /// the bytes Redis returned (which also checks they are JSON), not a DOM built and written out again.
    /// </summary>
    internal static JsonElement WithCacheField(ReadOnlySpan<byte> cached, int ttlSeconds)
    {
        var body = cached.Trim(" \t\r\n"u8);
        if (body.Length < 2 || body[0] != (byte)'{' || body[^1] != (byte)'}')
        {
            throw new JsonException("The cached composite is not a JSON object.");
        }

        var empty = body[1..^1].Trim(" \t\r\n"u8).IsEmpty;
        Span<byte> field = stackalloc byte[64];
        var written = 0;
        if (!empty)
        {
            field[written++] = (byte)',';
        }

        if (!System.Text.Unicode.Utf8.TryWrite(field[written..], CultureInfo.InvariantCulture, $"\"cache\":{{\"hit\":true,\"ttl\":{ttlSeconds}}}}}", out var length))
        {
            throw new InvalidOperationException("The cache field did not fit its buffer.");
        }

        var json = new byte[body.Length - 1 + written + length];
        body[..^1].CopyTo(json);
        field[..(written + length)].CopyTo(json.AsSpan(body.Length - 1));
        return JsonSerializer.Deserialize<JsonElement>(json);
    }

    /// <summary>The list read's cache key; a query holding text no .NET string can (half a surrogate pair) is the validation error.</summary>
    private static string ListKey(string read, JsonElement query) =>
        DoctorCommandReader.UnreadableIn(query, "") is { } unreadable
            ? throw new ReadRejectedException(DoctorErrors.Validation([DoctorCommandReader.UnreadableText(unreadable)]))
            : CacheKeys.List(read, query);

    private static Dictionary<string, JsonElement> ById(IEnumerable<JsonElement> accounts)
    {
        var byId = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var account in accounts)
        {
            if (account.ValueKind == JsonValueKind.Object && account.TryGetProperty("id", out var id))
            {
                byId.TryAdd(id.ToString(), account);
            }
        }

        return byId;
    }

    private static JsonElement? Passed(JsonElement query) => query.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null ? null : query;
}

/// <summary>A read refused before any call (bad query): its error payload is the reply's <c>err</c>.</summary>
public sealed class ReadRejectedException(JsonElement error) : Exception(DoctorErrors.MessageOf(error))
{
    public JsonElement Error { get; } = error;
}
