using System.CommandLine;
using System.Text.Json;
using Baton.Client;
using Spectre.Console;

namespace Baton.Cli;

/// <summary>What every command needs: the client, the output mode and the consoles.</summary>
internal sealed partial class CliContext
{
    public const string UrlVariable = "BATON_URL";
    public const string KeyVariable = "BATON_ADMIN_KEY";
    public const string DefaultUrl = "http://127.0.0.1:3003";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public CliContext(BatonApiClient client, bool json, IAnsiConsole console, TextWriter error)
    {
        Client = client;
        JsonOutput = json;
        Console = console;
        Error = error;
    }

    public BatonApiClient Client { get; }

    /// <summary>True with <c>--json</c>: one JSON document on stdout, nothing else there.</summary>
    public bool JsonOutput { get; }

    public IAnsiConsole Console { get; }

    public TextWriter Error { get; }

    /// <summary>Writes <paramref name="value"/> as indented JSON on stdout.</summary>
    public void WriteJson<T>(T value) => Console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(value, Json));

    /// <summary>The server URL and key from the options, else the environment; the key is never printed.</summary>
    public static (Uri Url, string? Key) Resolve(ParseResult parse)
    {
        var (url, source) = parse.GetValue(GlobalOptions.Url) is { Length: > 0 } u ? (u, "--url")
            : Environment.GetEnvironmentVariable(UrlVariable) is { Length: > 0 } e ? (e, UrlVariable) : (DefaultUrl, "--url");
        if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            // Named by where it came from: a bad BATON_URL was reported as --url, which had not been given.
            throw new UsageException($"{source} '{WithoutUserInfo(url)}' is not an http(s) URL, e.g. {DefaultUrl}");
        }

        var key = parse.GetValue(GlobalOptions.Key) is { Length: > 0 } k ? k : Environment.GetEnvironmentVariable(KeyVariable);
        if (key is not null && key.Any(c => c is < ' ' or > '~'))
        {
            // Not the key itself: it is a secret.
            throw new UsageException($"the admin key holds a character that is not printable ASCII, which an HTTP header cannot carry; check --key or ${KeyVariable}");
        }

        return (uri, key);
    }

    /// <summary>
    /// <paramref name="url"/> without the user name and password between <c>//</c> and <c>@</c>, as it is echoed in an
    /// error: a URL that is not http(s) cannot be parsed to drop them, and they are secrets. In a URL that parses the user
    /// info ends before the path ('@' in a path is not one); in text that does not, a password holding '/', '?' or '#' is
    /// often why, so it runs to the last '@' (before: to the first '/', and 'http://ops:pa/ss@host' was echoed whole).
    /// </summary>
    private static string WithoutUserInfo(string url)
    {
        var authority = url.IndexOf("//", StringComparison.Ordinal) is var slashes and >= 0 ? slashes + 2 : -1;
        if (authority < 0)
        {
            return url;
        }

        var end = !Uri.TryCreate(url, UriKind.Absolute, out _) ? url.Length
            : url.IndexOfAny(['/', '?', '#'], authority) is var path and >= 0 ? path : url.Length;
        var at = end > authority ? url.LastIndexOf('@', end - 1, end - authority) : -1;
        return at < 0 ? url : string.Concat(url.AsSpan(0, authority), url.AsSpan(at + 1));
    }

    /// <summary>A console on stdout: colours and live displays only when stdout is a terminal (and NO_COLOR is unset).</summary>
    /// Redirected output is 240 columns wide (or <c>COLUMNS</c>), so tables piped into grep or a file are not wrapped at 80.
    public static IAnsiConsole CreateConsole(TextWriter output, bool terminal)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = terminal ? AnsiSupport.Yes : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Yes : InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        if (!terminal)
        {
            console.Profile.Width = int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var columns) && columns > 0 ? columns : 240;
        }

        return console;
    }
}

/// <summary>Bad arguments found after parsing (exit code 2).</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>The options every command takes.</summary>
internal static class GlobalOptions
{
    public static readonly Option<string> Url = new("--url")
    {
        Description = $"The server, e.g. {CliContext.DefaultUrl} (default: ${CliContext.UrlVariable}, else {CliContext.DefaultUrl})",
        Recursive = true,
    };

    public static readonly Option<string> Key = new("--key")
    {
        Description = $"The admin key (default: ${CliContext.KeyVariable}; prefer the variable, a command line is visible to other users)",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Write JSON for scripts instead of tables",
        Recursive = true,
    };
}
