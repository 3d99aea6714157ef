using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Baton.RabbitMq.Wire;

/// <summary>
/// The route of a pattern as NestJS computes it (<c>transformPatternToRoute</c> in @nestjs/microservices): a string as
/// it is (a string holding a JSON object is parsed first), an object as JSON with its keys sorted, strings quoted,
/// numbers, booleans and null bare, nested objects and arrays the same way, at most 5 levels and 20 keys per object.
/// </summary>
internal static class NestPatterns
{
    private const int MaxDepth = 5;
    private const int MaxKeys = 20;

    /// <summary>The route of a pattern given as text: a plain string, or the JSON of an object pattern.</summary>
    public static string Route(string pattern)
    {
        if (pattern.Length > 1 && pattern[0] == '{')
        {
            try
            {
                using var document = JsonDocument.Parse(pattern);
                return Route(document.RootElement);
            }
            catch (JsonException)
            {
                return pattern;
            }
        }

        return pattern;
    }

    /// <summary>The route of the <c>pattern</c> field of a message: a string or an object.</summary>
    public static string Route(JsonElement pattern) => pattern.ValueKind switch
    {
        JsonValueKind.String => Route(pattern.GetString()!),
        JsonValueKind.Object or JsonValueKind.Array => Append(new StringBuilder(), pattern, 0).ToString(),
        _ => Scalar(pattern),
    };

    private static StringBuilder Append(StringBuilder route, JsonElement value, int depth)
    {
        if (value.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array))
        {
            return value.ValueKind == JsonValueKind.String
                ? route.Append('"').Append(Escape(value.GetString()!)).Append('"')
                : route.Append(Scalar(value));
        }

        if (depth > MaxDepth)
        {
            return route.Append("[MAX_DEPTH_REACHED]");
        }

        var members = value.ValueKind == JsonValueKind.Object
            ? value.EnumerateObject().Select(p => (p.Name, p.Value)).ToList()
            : value.EnumerateArray().Select((v, i) => (i.ToString(CultureInfo.InvariantCulture), v)).ToList();
        if (members.Count > MaxKeys)
        {
            return route.Append("[TOO_MANY_KEYS]");
        }

        // JavaScript's localeCompare: ICU's root collation, which .NET's invariant culture uses on Linux too.
        members.Sort((a, b) => string.Compare(a.Item1, b.Item1, CultureInfo.InvariantCulture, CompareOptions.None));
        route.Append('{');
        for (var i = 0; i < members.Count; i++)
        {
            if (i > 0)
            {
                route.Append(',');
            }

            route.Append('"').Append(Escape(members[i].Item1)).Append("\":");
            Append(route, members[i].Item2, depth + 1);
        }

        return route.Append('}');
    }

    private static string Scalar(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number when value.TryGetDouble(out var number) => number.ToString("R", CultureInfo.InvariantCulture),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null => "null",
        _ => value.GetRawText(),
    };

    private static string Escape(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}
