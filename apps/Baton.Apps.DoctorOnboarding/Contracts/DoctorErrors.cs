using System.Text.Json;
using System.Text.Json.Nodes;

namespace Baton.Apps.DoctorOnboarding.Contracts;

/// <summary>The error payloads the orchestrator replies with (the <c>err</c> of a NestJS reply).</summary>
public static class DoctorErrors
{
    /// <summary><c>{"status":"error","statusCode":400,"message":"validation failed: ...","errors":[...]}</c>.</summary>
    public static JsonElement Validation(IReadOnlyList<string> errors)
    {
        var body = new JsonObject
        {
            ["status"] = "error",
            ["statusCode"] = 400,
            ["message"] = "validation failed: " + string.Join("; ", errors),
            ["errors"] = new JsonArray([.. errors.Select(e => (JsonNode?)JsonValue.Create(e))]),
        };
        return JsonSerializer.SerializeToElement(body);
    }

    /// <summary>The root cause message of a service's error reply: a string, its <c>message</c> (joined when an array), or its JSON.</summary>
    public static string MessageOf(JsonElement error)
    {
        switch (error.ValueKind)
        {
            case JsonValueKind.String:
                return error.GetString()!;
            case JsonValueKind.Object when error.TryGetProperty("message", out var message):
                return message.ValueKind switch
                {
                    JsonValueKind.String => message.GetString()!,
                    JsonValueKind.Array => string.Join("; ", message.EnumerateArray().Select(m => m.ValueKind == JsonValueKind.String ? m.GetString() : m.GetRawText())),
                    _ => message.GetRawText(),
                };
            default:
                return error.GetRawText();
        }
    }

    /// <summary>Whether a service's error says the thing does not exist (<c>statusCode</c>/<c>status</c> 404, or "not found" in the message).</summary>
    public static bool IsNotFound(JsonElement error)
    {
        if (error.ValueKind == JsonValueKind.Object)
        {
            foreach (var name in (string[])["statusCode", "status"])
            {
                if (error.TryGetProperty(name, out var code) && code.ValueKind == JsonValueKind.Number && code.TryGetInt32(out var value) && value == 404)
                {
                    return true;
                }
            }
        }

        return MessageOf(error).Contains("not found", StringComparison.OrdinalIgnoreCase);
    }
}
