using System.Text.Json;
using System.Text.Json.Nodes;

namespace Baton.Simulators.DoctorServices;

/// <summary>An error reply of a simulated service: <c>{"status":"error","statusCode":...,"message":...}</c>.</summary>
public sealed class SimulatedServiceException(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    public JsonObject ToError() => new() { ["status"] = "error", ["statusCode"] = StatusCode, ["message"] = Message };
}

/// <summary>
/// The accounts service (<c>doctor-accounts.*</c>) and the provider directory (<c>doctor-profile.*</c>) of seed 004, in
/// memory: their handlers as plain methods, so they run behind the NestJS RMQ server (<see cref="DoctorServicesHost"/>)
/// or are called directly. Creates honour an <c>idempotencyKey</c> field (the same key returns the entity it created),
/// removes of an unknown id answer 404, and each change emits its domain event (<c>staff.account.created</c>, ...,
/// <c>doctor.profile.deleted</c>) through <see cref="EmitEventAsync"/> when set. <see cref="Faults"/> fails or delays
/// any pattern; <see cref="State"/> is what tests inspect.
/// </summary>
public sealed class DoctorServicesSimulator(TimeProvider? time = null)
{
    public const string AccountsDebugState = "doctor-accounts.debug.state";
    public const string DirectoryDebugState = "doctor-profile.debug.state";

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public DoctorServicesState State { get; } = new();

    public FaultSwitches Faults { get; } = new();

    /// <summary>Where domain events go (pattern, data); null drops them.</summary>
    public Func<string, JsonObject, Task>? EmitEventAsync { get; set; }

    /// <summary>The two events seed 004 lists (<c>doctor.profile.updated</c>, <c>staff.account.updated</c>).</summary>
    public static IReadOnlyList<string> SeedEvents { get; } = ["doctor.profile.updated", "staff.account.updated"];

    /// <summary>
    /// Emits only <see cref="SeedEvents"/> (services that send no <c>*.created</c> or <c>*.deleted</c>), so a test sees what
    /// the orchestrator does without them. The default emits every event.
    /// </summary>
    public bool SeedEventsOnly { get; set; }

    public static IReadOnlyList<string> AccountPatterns { get; } =
    [
        "doctor-accounts.create", "doctor-accounts.findOne", "doctor-accounts.update", "doctor-accounts.remove",
        "doctor-accounts.findAll", "doctor-accounts.assignPermissions", AccountsDebugState,
    ];

    public static IReadOnlyList<string> DirectoryPatterns { get; } =
    [
        "doctor-profile.createEmpty", "doctor-profile.findOne", "doctor-profile.getByAccountId", "doctor-profile.getByAccountIds",
        "doctor-profile.update", "doctor-profile.remove", "doctor-profile.getPublicList", DirectoryDebugState,
    ];

    /// <summary>Handles one request; an error reply is a <see cref="SimulatedServiceException"/>.</summary>
    public async Task<JsonNode?> HandleAsync(string pattern, JsonElement data, CancellationToken cancellationToken = default)
    {
        if (pattern is AccountsDebugState or DirectoryDebugState)
        {
            return State.ToJson();
        }

        lock (State.Gate)
        {
            State.CallLog.Add(pattern);
        }

        var (delay, fail, replyDelay, hold, replyHold) = Faults.Take(pattern);
        if (delay > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(delay), _time, cancellationToken).ConfigureAwait(false);
        }

        if (hold is not null)
        {
            await hold.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        if (fail is not null)
        {
            throw new SimulatedServiceException(500, fail);
        }

        var input = data.ValueKind == JsonValueKind.Object ? JsonNode.Parse(data.GetRawText())!.AsObject() : [];
        var (reply, events) = pattern switch
        {
            "doctor-accounts.create" => CreateAccount(input),
            "doctor-accounts.findOne" => (Find(State.AccountsById, input, "id", "account"), []),
            "doctor-accounts.update" => Update(State.AccountsById, input, "account", "staff.account.updated"),
            "doctor-accounts.remove" => Remove(State.AccountsById, input, "account", "staff.account.deleted"),
            "doctor-accounts.findAll" => (FindAllAccounts(input), []),
            "doctor-accounts.assignPermissions" => AssignPermissions(input),
            "doctor-profile.createEmpty" => CreateProfile(input),
            "doctor-profile.findOne" => (Find(State.ProfilesById, input, "id", "profile"), []),
            "doctor-profile.getByAccountId" => (ProfileOfAccount(input), []),
            "doctor-profile.getByAccountIds" => (ProfilesOfAccounts(input), []),
            "doctor-profile.update" => Update(State.ProfilesById, input, "profile", "doctor.profile.updated"),
            "doctor-profile.remove" => Remove(State.ProfilesById, input, "profile", "doctor.profile.deleted"),
            "doctor-profile.getPublicList" => (PublicList(input), []),
            _ => throw new SimulatedServiceException(404, $"unknown pattern {pattern}"),
        };
        if (EmitEventAsync is { } emit)
        {
            foreach (var (eventPattern, eventData) in events.Where(e => !SeedEventsOnly || SeedEvents.Contains(e.Item1)))
            {
                await emit(eventPattern, eventData).ConfigureAwait(false);
            }
        }

        if (replyDelay > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(replyDelay), _time, cancellationToken).ConfigureAwait(false);
        }

        if (replyHold is not null)
        {
            await replyHold.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return reply;
    }

    private (JsonNode?, List<(string, JsonObject)>) CreateAccount(JsonObject input)
    {
        lock (State.Gate)
        {
            if (Existing(State.AccountsById, input) is { } existing)
            {
                return (existing, []);
            }

            var email = input["email"]?.GetValue<string>() ?? throw new SimulatedServiceException(400, "validation failed: email should not be empty");
            if (State.EmailCounts.ContainsKey(email))
            {
                throw new SimulatedServiceException(409, "validation failed: account.email already exists");
            }

            var account = new JsonObject
            {
                ["id"] = Guid.NewGuid().ToString(), ["email"] = email, ["fullName"] = input["fullName"]?.DeepClone(),
                ["phone"] = input["phone"]?.DeepClone(), ["dob"] = input["dob"]?.DeepClone(), ["gender"] = input["gender"]?.DeepClone(),
                ["role"] = input["role"]?.DeepClone() ?? "DOCTOR", ["permissions"] = new JsonArray(),
                ["createdAt"] = _time.GetUtcNow().ToString("O"),
            };
            State.CountEmail(email, 1);
            SetPassword(account["id"]!.GetValue<string>(), input);
            return (Store(State.AccountsById, input, account), [("staff.account.created", new JsonObject { ["id"] = account["id"]!.DeepClone() })]);
        }
    }

    private void SetPassword(string accountId, JsonObject input)
    {
        if (input["password"] is JsonValue password && password.TryGetValue<string>(out var text))
        {
            State.PasswordHashes[accountId] = DoctorServicesState.HashOf(text);
        }
    }

    private (JsonNode?, List<(string, JsonObject)>) CreateProfile(JsonObject input)
    {
        lock (State.Gate)
        {
            if (Existing(State.ProfilesById, input) is { } existing)
            {
                return (existing, []);
            }

            var accountId = input["staffAccountId"]?.GetValue<string>() ?? throw new SimulatedServiceException(400, "validation failed: staffAccountId should not be empty");
            var profile = (JsonObject)input.DeepClone();
            profile.Remove("idempotencyKey");
            profile["id"] = Guid.NewGuid().ToString();
            profile["isActive"] ??= true;
            profile["createdAt"] = _time.GetUtcNow().ToString("O");
            Store(State.ProfilesById, input, profile);
            return (profile.DeepClone(), [("doctor.profile.created", new JsonObject { ["id"] = profile["id"]!.DeepClone(), ["staffAccountId"] = accountId })]);
        }
    }

    private (JsonNode?, List<(string, JsonObject)>) AssignPermissions(JsonObject input)
    {
        lock (State.Gate)
        {
            var account = Get(State.AccountsById, Id(input, "id"), "account");
            account["permissions"] = input["permissions"]?.DeepClone() ?? new JsonArray();
            return (account.DeepClone(), [("staff.account.updated", new JsonObject { ["id"] = account["id"]!.DeepClone() })]);
        }
    }

    private JsonNode? Find(Dictionary<string, JsonObject> table, JsonObject input, string field, string what)
    {
        lock (State.Gate)
        {
            return Get(table, Id(input, field), what).DeepClone();
        }
    }

    private (JsonNode?, List<(string, JsonObject)>) Update(Dictionary<string, JsonObject> table, JsonObject input, string what, string eventName)
    {
        lock (State.Gate)
        {
            var entity = Get(table, Id(input, "id"), what);
            var accounts = ReferenceEquals(table, State.AccountsById);
            if (accounts)
            {
                State.CountEmail(EmailOf(entity), -1);
            }

            foreach (var (name, value) in input)
            {
                if (name is not ("id" or "password" or "idempotencyKey"))
                {
                    entity[name] = value?.DeepClone();
                }
            }

            if (accounts)
            {
                State.CountEmail(EmailOf(entity), 1);
                SetPassword(Id(input, "id"), input);
            }

            return (entity.DeepClone(), [(eventName, EventOf(entity))]);
        }
    }

    private (JsonNode?, List<(string, JsonObject)>) Remove(Dictionary<string, JsonObject> table, JsonObject input, string what, string eventName)
    {
        lock (State.Gate)
        {
            var entity = Get(table, Id(input, "id"), what);
            table.Remove(entity["id"]!.GetValue<string>());
            if (ReferenceEquals(table, State.AccountsById))
            {
                State.CountEmail(EmailOf(entity), -1);
            }
            return (entity, [(eventName, EventOf(entity))]);
        }
    }

    private JsonNode FindAllAccounts(JsonObject input)
    {
        lock (State.Gate)
        {
            IEnumerable<JsonObject> accounts = State.AccountsById.Values;
            if (input["ids"] is JsonArray ids)
            {
                var wanted = ids.Select(i => i?.GetValue<string>()).OfType<string>().ToHashSet(StringComparer.Ordinal);
                return new JsonObject { ["data"] = new JsonArray([.. accounts.Where(a => wanted.Contains(a["id"]!.GetValue<string>())).Select(a => a.DeepClone())]) };
            }

            if (input["search"]?.GetValue<string>() is { Length: > 0 } search)
            {
                accounts = accounts.Where(a => a["fullName"]?.GetValue<string>()?.Contains(search, StringComparison.OrdinalIgnoreCase) == true);
            }

            return Page(accounts, input);
        }
    }

    private JsonNode? ProfileOfAccount(JsonObject input)
    {
        lock (State.Gate)
        {
            var accountId = Id(input, "accountId");
            return State.ProfilesById.Values.FirstOrDefault(p => p["staffAccountId"]?.GetValue<string>() == accountId)?.DeepClone()
                ?? throw new SimulatedServiceException(404, $"profile of account {accountId} not found");
        }
    }

    private JsonNode ProfilesOfAccounts(JsonObject input)
    {
        lock (State.Gate)
        {
            var wanted = (input["accountIds"] as JsonArray ?? []).Select(i => i?.GetValue<string>()).OfType<string>().ToHashSet(StringComparer.Ordinal);
            return new JsonArray([.. State.ProfilesById.Values.Where(p => wanted.Contains(p["staffAccountId"]?.GetValue<string>() ?? "")).Select(p => p.DeepClone())]);
        }
    }

    private JsonNode PublicList(JsonObject input)
    {
        lock (State.Gate)
        {
            return Page(State.ProfilesById.Values.Where(p => p["isActive"]?.GetValue<bool>() != false), input);
        }
    }

    private static JsonObject Page(IEnumerable<JsonObject> items, JsonObject input)
    {
        var page = Math.Max(1, input["page"]?.GetValue<int>() ?? 1);
        var limit = Math.Clamp(input["limit"]?.GetValue<int>() ?? 10, 1, 100);
        var all = items.OrderBy(i => i["createdAt"]?.GetValue<string>(), StringComparer.Ordinal).ThenBy(i => i["id"]!.GetValue<string>(), StringComparer.Ordinal).ToList();
        var totalPages = (all.Count + limit - 1) / limit;
        return new JsonObject
        {
            ["data"] = new JsonArray([.. all.Skip((page - 1) * limit).Take(limit).Select(i => i.DeepClone())]),
            ["meta"] = new JsonObject
            {
                ["page"] = page, ["limit"] = limit, ["total"] = all.Count, ["totalPages"] = totalPages,
                ["hasNext"] = page < totalPages, ["hasPrev"] = page > 1,
            },
        };
    }

    private JsonObject? Existing(Dictionary<string, JsonObject> table, JsonObject input) =>
        input["idempotencyKey"]?.GetValue<string>() is { } key && State.CreatedByKey.TryGetValue(key, out var created)
            ? (JsonObject)(table.TryGetValue(created["id"]!.GetValue<string>(), out var entity) ? entity : created).DeepClone()
            : null;

    private JsonObject Store(Dictionary<string, JsonObject> table, JsonObject input, JsonObject entity)
    {
        var id = entity["id"]!.GetValue<string>();
        table[id] = entity;
        if (input["idempotencyKey"]?.GetValue<string>() is { } key)
        {
            State.CreatedByKey[key] = (JsonObject)entity.DeepClone();
        }

        return (JsonObject)entity.DeepClone();
    }

    private static JsonObject Get(Dictionary<string, JsonObject> table, string id, string what) =>
        table.TryGetValue(id, out var entity) ? entity : throw new SimulatedServiceException(404, $"{what} {id} not found");

    private static string Id(JsonObject input, string field) =>
        input[field] is JsonValue value && value.TryGetValue<string>(out var id) && id.Length > 0
            ? id
            : throw new SimulatedServiceException(400, $"validation failed: {field} should not be empty");

    private static string? EmailOf(JsonObject account) => account["email"] is JsonValue value && value.TryGetValue<string>(out var email) ? email : null;

    private static JsonObject EventOf(JsonObject entity)
    {
        var data = new JsonObject { ["id"] = entity["id"]!.DeepClone() };
        if (entity["staffAccountId"] is { } accountId)
        {
            data["staffAccountId"] = accountId.DeepClone();
        }

        return data;
    }
}
