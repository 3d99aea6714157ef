namespace Baton.Storage.Postgres.Internal;

/// <summary>
/// Refuses a parameter value PostgreSQL would reject at the bind because of U+0000: a text value holding the character
/// (text cannot hold it: SQLSTATE 22021) or a jsonb value holding the escape <c>\u0000</c> (22P05, "unsupported Unicode
/// escape sequence"). The <see cref="ArgumentException"/> names the parameter, and nothing has been sent.
/// </summary>
internal static class NulFree
{
    /// <summary><paramref name="value"/> unchanged, or an <see cref="ArgumentException"/> when it holds U+0000.</summary>
    public static string? Text(string name, string? value) =>
        value is not null && value.Contains('\0', StringComparison.Ordinal) ? throw Refused(name, "the character U+0000") : value;

    /// <summary><paramref name="value"/> unchanged, or an <see cref="ArgumentException"/> when an element holds U+0000.</summary>
    public static string[]? TextArray(string name, string[]? value)
    {
        foreach (var element in value ?? [])
        {
            Text(name, element);
        }

        return value;
    }

    /// <summary><paramref name="value"/> unchanged, or an <see cref="ArgumentException"/> when it holds U+0000 or its escape.</summary>
    public static string? Json(string name, string? value)
    {
        if (value is null)
        {
            return null;
        }

        Text(name, value);
        for (var at = value.IndexOf(@"\u0000", StringComparison.Ordinal); at >= 0; at = value.IndexOf(@"\u0000", at + 1, StringComparison.Ordinal))
        {
            // An escape only when the backslash is not itself escaped: "\\u0000" is a backslash and the text u0000.
            var backslashes = 0;
            while (at - backslashes - 1 >= 0 && value[at - backslashes - 1] == '\\')
            {
                backslashes++;
            }

            if (backslashes % 2 == 0)
            {
                throw Refused(name, @"the JSON escape \u0000");
            }
        }

        return value;
    }

    private static ArgumentException Refused(string name, string what) =>
        new($"The value of parameter '{name}' holds {what}, which PostgreSQL cannot store; nothing was sent.", name);
}
