using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Baton.Apps.DoctorOnboarding.Contracts;

/// <summary>
/// The payload of <c>orchestrator.doctor.create</c>. The seed names the DTO but not its fields; these are the fields the
/// three steps need (README, "Choices"): the account's <c>email</c>, <c>password</c>, <c>fullName</c> (required) and
/// <c>phone</c>, <c>dob</c>, <c>gender</c>; the profile's fields as a free object <c>profile</c>; the permissions to
/// assign (default <c>["doctor"]</c>).
/// </summary>
public sealed record CreateDoctorCommandDto
{
    public required string Email { get; init; }
    public required string Password { get; init; }
    public required string FullName { get; init; }
    public string? Phone { get; init; }
    /// <summary>Date of birth, <c>yyyy-MM-dd</c>.</summary>
    public string? Dob { get; init; }
    public string? Gender { get; init; }
    /// <summary>Fields for the doctor's profile (specialties, degree, ...), passed on to the provider directory as they are.</summary>
    public JsonObject? Profile { get; init; }
    /// <summary>What <c>assignPermissions</c> grants. The default is <c>["doctor"]</c>.</summary>
    public IReadOnlyList<string> Permissions { get; init; } = ["doctor"];
}

/// <summary>Reads and checks the command payloads field by field, with messages in class-validator's wording.</summary>
public static class DoctorCommandReader
{
    /// <summary>The longest string field accepted, in characters.</summary>
    public const int MaxFieldLength = 320;

    /// <summary>The command, or the list of what is wrong with it (nothing is started then).</summary>
    public static (CreateDoctorCommandDto? Command, IReadOnlyList<string> Errors) ReadCreate(JsonElement data)
    {
        var errors = new List<string>();
        if (data.ValueKind != JsonValueKind.Object)
        {
            return (null, ["payload must be an object"]);
        }

        var email = ReadAccountField(data, "email", required: true, errors);

        // As the user typed it: a password trimmed here would not be the one they sign in with (an update's is not trimmed either).
        var password = ReadString(data, "password", required: true, errors, trim: false);
        if (password is not null)
        {
            CheckPassword(password, "password", errors);
        }

        var fullName = ReadAccountField(data, "fullName", required: true, errors);
        var phone = ReadAccountField(data, "phone", required: false, errors);
        var dob = ReadAccountField(data, "dob", required: false, errors);
        var gender = ReadAccountField(data, "gender", required: false, errors);
        var profile = ReadObject(data, "profile", errors);

        IReadOnlyList<string> permissions = ["doctor"];
        if (data.TryGetProperty("permissions", out var permissionsElement) && permissionsElement.ValueKind != JsonValueKind.Null)
        {
            if (UnreadableIn(permissionsElement, "permissions") is { } unreadable)
            {
                errors.Add(UnreadableText(unreadable));
            }
            else if (permissionsElement.ValueKind == JsonValueKind.Array && permissionsElement.EnumerateArray().All(p => p.ValueKind == JsonValueKind.String && p.GetString()!.Length > 0))
            {
                permissions = [.. permissionsElement.EnumerateArray().Select(p => p.GetString()!)];
            }
            else
            {
                errors.Add("permissions must be an array of non-empty strings");
            }
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        return (new CreateDoctorCommandDto
        {
            Email = email!, Password = password!, FullName = fullName!, Phone = phone, Dob = dob, Gender = gender,
            Profile = profile, Permissions = permissions,
        }, errors);
    }

    /// <summary>The account's fields a create sets and an update may change (<see cref="ReadAccountField"/>).</summary>
    internal static readonly string[] AccountFields = ["email", "fullName", "phone", "dob", "gender"];

    /// <summary>
    /// One of <see cref="AccountFields"/>, trimmed, with its rules (<c>email</c> an email, <c>dob</c> a <c>yyyy-MM-dd</c>
    /// date), the create's and an update's alike; <paramref name="label"/> names it in the messages (<c>account.email</c>).
    /// </summary>
    internal static string? ReadAccountField(JsonElement data, string name, bool required, List<string> errors, string? label = null)
    {
        label ??= name;
        var text = ReadString(data, name, required, errors, label: label);
        if (text is not null && name == "email" && !LooksLikeEmail(text))
        {
            errors.Add($"{label} must be an email");
        }
        else if (text is not null && name == "dob" && !DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            errors.Add($"{label} must be a date (yyyy-MM-dd)");
        }

        return text;
    }

    /// <summary>A doctor's id (its account id) from <c>{"id": ...}</c>: a non-empty string without <c>:</c> or <c>*</c> (it becomes part of a cache key).</summary>
    public static string? ReadId(JsonElement data, string field, List<string> errors)
    {
        if (data.ValueKind != JsonValueKind.Object)
        {
            errors.Add("payload must be an object");
            return null;
        }

        var id = ReadString(data, field, required: true, errors);
        if (id is not null && id.AsSpan().IndexOfAny(":*?[]") >= 0)
        {
            errors.Add($"{field} must not contain ':', '*', '?', '[' or ']'");
            return null;
        }

        return id;
    }

    /// <summary>The rules of a password, the create's and an update's: not empty, 8 characters or more (not trimmed).</summary>
    internal static void CheckPassword(string password, string name, List<string> errors)
    {
        if (password.Length == 0)
        {
            errors.Add($"{name} should not be empty");
        }
        else if (password.Length < 8)
        {
            errors.Add($"{name} must be longer than or equal to 8 characters");
        }
        else if (password.Length > MaxFieldLength)
        {
            errors.Add($"{name} must be shorter than or equal to {MaxFieldLength} characters");
        }
    }

    /// <summary>
    /// An object passed on as it is (a create's profile, an update's account and profile): null when absent or null, else an
    /// object holding only text (<see cref="UnreadableIn"/>), or an error naming it.
    /// </summary>
    internal static JsonObject? ReadObject(JsonElement data, string name, List<string> errors)
    {
        if (!data.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{name} must be an object");
            return null;
        }

        if (UnreadableIn(value, name) is { } unreadable)
        {
            errors.Add(UnreadableText(unreadable));
            return null;
        }

        return JsonNode.Parse(value.GetRawText())!.AsObject();
    }

    internal static string? ReadString(JsonElement data, string name, bool required, List<string> errors, bool trim = true, string? label = null)
    {
        label ??= name;
        if (!data.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                errors.Add($"{label} should not be empty");
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add($"{label} must be a string");
            return null;
        }

        if (TextOf(value) is not { } read)
        {
            errors.Add(UnreadableText(label));
            return null;
        }

        var text = trim ? read.Trim() : read;
        if (text.Length == 0)
        {
            if (required)
            {
                errors.Add($"{label} should not be empty");
            }

            return null;
        }

        if (text.Length > MaxFieldLength)
        {
            errors.Add($"{label} must be shorter than or equal to {MaxFieldLength} characters");
            return null;
        }

        return text;
    }

    /// <summary>
    /// The string <paramref name="value"/> holds, or null when it escapes half a UTF-16 surrogate pair (valid JSON that no
    /// .NET string can hold: <c>GetString</c> throws). Before, that exception left the reader: the sagas answered
    /// "Invalid request: ..." without the validation shape, the reads "Internal server error".
    /// </summary>
    internal static string? TextOf(JsonElement value)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// Where <paramref name="value"/> holds a string or a property name escaping half a UTF-16 surrogate pair (see
    /// <see cref="TextOf"/>), as a path under <paramref name="path"/> (<c>profile.bio</c>, <c>permissions[0]</c>, "a property
    /// name in profile"), or null when it holds none. For the parts passed on as they are (a profile, an update's account and
    /// profile, a list query): before, storing or hashing them threw, and the sagas answered "Invalid request: ..." without
    /// the validation shape, the list reads "Internal server error" with a stack trace logged.
    /// </summary>
    internal static string? UnreadableIn(JsonElement value, string path)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return TextOf(value) is not null ? null : path.Length == 0 ? "payload" : path;
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                {
                    if (NameOf(property) is not { } name)
                    {
                        return path.Length == 0 ? "a property name" : $"a property name in {path}";
                    }

                    if (UnreadableIn(property.Value, path.Length == 0 ? name : $"{path}.{name}") is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    if (UnreadableIn(item, $"{path}[{index++}]") is { } found)
                    {
                        return found;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    private static string? NameOf(JsonProperty property)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The validation message of a string field that is not text (<see cref="TextOf"/>).</summary>
    internal static string UnreadableText(string name) => $"{name} must be valid text (it holds half a UTF-16 surrogate pair)";

    private static bool LooksLikeEmail(string email)
    {
        var at = email.IndexOf('@', StringComparison.Ordinal);
        return at > 0 && at == email.LastIndexOf('@') && email.IndexOf('.', at) > at + 1 && !email.EndsWith('.') && !email.Contains(' ', StringComparison.Ordinal);
    }
}
