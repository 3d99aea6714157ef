using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using Baton.Client;
using Spectre.Console;

namespace Baton.Cli;

/// <summary>Runs a command's body and turns what can go wrong into a message on stderr and an exit code.</summary>
internal sealed class CommandRunner(TextWriter output, TextWriter error, bool terminal, HttpMessageHandler? handler = null)
{
    /// <summary>Sets <paramref name="command"/>'s action to <paramref name="body"/>, with the error handling of <see cref="RunAsync"/>.</summary>
    public void Bind(Command command, Func<CliContext, ParseResult, CancellationToken, Task<int>> body) =>
        command.SetAction((parse, cancellationToken) => RunAsync(parse, body, cancellationToken));

    /// <summary>Whether the command only reads (lists, gets, watches): <c>runs list|get|watch</c>, <c>schedules list</c>, <c>nodes</c>, <c>workflows</c>.</summary>
    private static bool OnlyReads(ParseResult parse) => parse.CommandResult.Command.Name is "list" or "get" or "watch" or "nodes" or "workflows";

    public async Task<int> RunAsync(ParseResult parse, Func<CliContext, ParseResult, CancellationToken, Task<int>> body, CancellationToken cancellationToken)
    {
        Uri url;
        try
        {
            (url, var key) = CliContext.Resolve(parse);
            using var ownHandler = handler is null ? NoRedirectsHandler() : null;
            using var client = BatonApiClient.Create(url, key, handler ?? ownHandler, TimeSpan.FromSeconds(60));
            var console = CliContext.CreateConsole(output, terminal && !parse.GetValue(GlobalOptions.Json));
            return await body(new CliContext(client, parse.GetValue(GlobalOptions.Json), console, error), parse, cancellationToken);
        }
        catch (UsageException ex)
        {
            await error.WriteLineAsync($"baton: {ex.Message}");
            return ExitCodes.Usage;
        }
        catch (ArgumentException ex)
        {
            // The client refused a value before sending anything (an id that is a path step, a key that cannot be a header).
            await error.WriteLineAsync($"baton: {ex.Message}");
            return ExitCodes.Usage;
        }
        catch (BatonApiException ex) when (ex.Status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            await error.WriteLineAsync(
                $"baton: the server refused the admin key ({(int)ex.Status}). Pass it with --key or ${CliContext.KeyVariable}.");
            return ExitCodes.RefusedKey;
        }
        catch (BatonApiException ex)
        {
            await error.WriteLineAsync($"baton: {(int)ex.Status} {Printable(ex.Title)}" + (ex.Detail is { Length: > 0 } d ? $": {Printable(d)}" : ""));
            // A body over the server's limit (413) is input it rejected, as a 400 is.
            return ex.Status is HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge ? ExitCodes.Usage
                : (int)ex.Status >= 500 ? ExitCodes.ServerError : ExitCodes.Failed;
        }
        catch (HttpRequestException ex)
        {
            await error.WriteLineAsync($"baton: cannot reach the server at {Where(parse)}: {Reason(ex)}");
            return ExitCodes.Unreachable;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The request may have arrived: a start, cancel, retry or event may have been carried out without its answer. A
            // command that only reads changes nothing, so it says no more (before, it said a change might have been made too).
            await error.WriteLineAsync($"baton: cannot reach the server at {Where(parse)}: no answer in time"
                + (OnlyReads(parse) ? "" : " (a change this command asked for may still have been made: look before repeating it)"));
            return ExitCodes.Unreachable;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("baton: interrupted");
            return 130;
        }
    }

    /// <summary>The client's handler (no redirects: the admin key would follow them), with a shorter connect timeout.</summary>
    private static SocketsHttpHandler NoRedirectsHandler()
    {
        var handler = BatonApiClient.NoRedirects();
        handler.ConnectTimeout = TimeSpan.FromSeconds(10);
        return handler;
    }

    private static string Where(ParseResult parse)
    {
        try
        {
            // Without the URL's user name and password, if it has them: they are secrets.
            return new UriBuilder(CliContext.Resolve(parse).Url) { UserName = "", Password = "" }.Uri.GetLeftPart(UriPartial.Authority);
        }
        catch (UsageException)
        {
            return "?";
        }
    }

    private static string Reason(HttpRequestException ex) => ex.InnerException is SocketException socket
        ? socket.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => "connection refused (is the server running?)",
            SocketError.HostNotFound or SocketError.NoData => "host not found",
            SocketError.TimedOut => "connection timed out",
            _ => socket.Message,
        }
        : ex.Message;

    /// <summary>Markup-escaped text, for values that come from the server (control characters made visible, see <see cref="Printable"/>).</summary>
    public static string Esc(string? text) => Markup.Escape(Printable(text));

    /// <summary>
    /// <paramref name="text"/> with its control characters other than line feed written as <c>\u001b</c>: text from the
    /// server (a failure message quoting another service, a concurrency key taken from a run's input) could otherwise
    /// carry escape sequences that the operator's terminal obeys (clear the screen, set the title, write the clipboard).
    /// </summary>
    public static string Printable(string? text)
    {
        if (string.IsNullOrEmpty(text) || !text.AsSpan().ContainsAny(ControlCharacters))
        {
            return text ?? "";
        }

        var builder = new System.Text.StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (ControlCharacters.Contains(c))
            {
                builder.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>C0 but line feed, DEL and C1: what <see cref="char.IsControl(char)"/> is true for, less '\n'.</summary>
    private static readonly System.Buffers.SearchValues<char> ControlCharacters = System.Buffers.SearchValues.Create(
        string.Concat(Enumerable.Range(0, 0x20).Where(c => c != '\n').Concat(Enumerable.Range(0x7F, 0x21)).Select(c => (char)c)));
}
