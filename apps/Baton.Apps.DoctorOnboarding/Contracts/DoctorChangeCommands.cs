using System.Text.Json;
using System.Text.Json.Nodes;

namespace Baton.Apps.DoctorOnboarding.Contracts;

/// <summary>
/// The payload of <c>orchestrator.doctor.update</c>: the doctor's id (its account id) and the fields to change, as free
/// objects passed on to the services: <c>{"id", "account": {...}, "profile": {...}}</c> (at least one of the two).
/// </summary>
public sealed record UpdateDoctorCommandDto
{
    public required string Id { get; init; }
    /// <summary>The account field that holds a new password (protected in the stored input, never put back by a compensation).</summary>
    public const string PasswordField = "password";

    public JsonObject? Account { get; init; }
    public JsonObject? Profile { get; init; }

    public static (UpdateDoctorCommandDto? Command, IReadOnlyList<string> Errors) Read(JsonElement data)
    {
        var errors = new List<string>();
        var id = DoctorCommandReader.ReadId(data, "id", errors);
        if (id is null)
        {
            return (null, errors);
        }

        var account = DoctorCommandReader.ReadObject(data, "account", errors);
        var profile = DoctorCommandReader.ReadObject(data, "profile", errors);
        if (errors.Count == 0 && account is null && profile is null)
        {
            errors.Add("account or profile must be given");
        }

        // The fields the create checks have its rules here too (before, an update set an email that is not one, an empty
        // fullName or a dob that is not a date, which the create refused), trimmed as the create sends them.
        if (account is not null)
        {
            var element = data.GetProperty("account");
            foreach (var name in DoctorCommandReader.AccountFields.Where(n => element.TryGetProperty(n, out _)))
            {
                if (DoctorCommandReader.ReadAccountField(element, name, required: name is "email" or "fullName", errors, $"account.{name}") is { } text)
                {
                    account[name] = text;
                }
            }
        }

        // A profile points to its doctor by staffAccountId (or accountId, as CompositeMerge reads it): changing it handed
        // this doctor's profile to another account, leaving this one without and that one's cached composite without it.
        if (account?.ContainsKey("id") == true || (profile is not null && ((string[])["id", "staffAccountId", "accountId"]).Any(profile.ContainsKey)))
        {
            errors.Add("account and profile must not change an id");
        }

        // A new password is kept protected in the stored input (UpdateDoctorSaga.ToInput), so it must be text; the
        // create's rules apply to it too (before, an update took an empty or a 400-character password the create refused).
        if (account is not null && account.TryGetPropertyValue(PasswordField, out var password))
        {
            if (password?.GetValueKind() != JsonValueKind.String)
            {
                errors.Add("account.password must be a string");
            }
            else if (TextOf(password) is { } text)
            {
                DoctorCommandReader.CheckPassword(text, "account.password", errors);
            }
            else
            {
                errors.Add(DoctorCommandReader.UnreadableText("account.password"));
            }
        }

        return errors.Count > 0 ? (null, errors) : (new UpdateDoctorCommandDto { Id = id, Account = account, Profile = profile }, errors);
    }

    /// <summary>The string a JSON string node holds, or null when it escapes half a UTF-16 surrogate pair (then <c>GetValue</c> throws).</summary>
    private static string? TextOf(JsonNode node)
    {
        try
        {
            return node.GetValue<string>();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}

/// <summary>The payload of <c>orchestrator.doctor.delete</c>: <c>{"id": accountId}</c>.</summary>
public sealed record DeleteDoctorCommandDto
{
    public required string Id { get; init; }

    public static (DeleteDoctorCommandDto? Command, IReadOnlyList<string> Errors) Read(JsonElement data)
    {
        var errors = new List<string>();
        var id = DoctorCommandReader.ReadId(data, "id", errors);
        return id is null ? (null, errors) : (new DeleteDoctorCommandDto { Id = id }, errors);
    }
}
