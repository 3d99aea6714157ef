using System.Text.Json;

namespace Baton.Cli.Tests;

/// <summary>What one run of the real <c>baton</c> command printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public JsonElement Json()
    {
        using var document = JsonDocument.Parse(Stdout);
        return document.RootElement.Clone();
    }

    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>Runs the built command (<c>dotnet baton.dll ...</c>) as a child process, its output redirected (not a terminal).</summary>
public static class BatonProcess
{
    public static string Dll => Path.Combine(TestPaths.OutputDirectory("tools", "Baton.Cli"), "baton.dll");

    /// <summary>Runs with <c>BATON_URL</c>/<c>BATON_ADMIN_KEY</c> from <paramref name="environment"/> (null removes a variable).</summary>
    public static async Task<CliResult> RunAsync(IDictionary<string, string?> environment, params string[] arguments)
    {
        var variables = new Dictionary<string, string?> { ["BATON_URL"] = null, ["BATON_ADMIN_KEY"] = null, ["NO_COLOR"] = "1" };
        foreach (var (name, value) in environment)
        {
            variables[name] = value;
        }

        await using var process = ChildProcess.Start(Dll, arguments, variables);
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(90));
        return new CliResult(exitCode, process.Stdout, process.Stderr);
    }

    /// <summary>
    /// Runs against a port that answers one request with <paramref name="status"/> and an HTML page (a proxy's page, a login
    /// page, another service): what the command makes of an answer that is not Baton's.
    /// </summary>
    public static async Task<CliResult> RunAgainstHtmlPageAsync(string status, params string[] arguments)
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        const string Page = "<html><body>Please sign in</body></html>";
        var serving = CannedHttpAnswer.ServeAsync(
            listener, $"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {Page.Length}\r\nConnection: close\r\n\r\n{Page}");
        var result = await RunAsync(new Dictionary<string, string?> { ["BATON_URL"] = $"http://127.0.0.1:{port}", ["BATON_ADMIN_KEY"] = "k-0123456789abcdef" }, arguments);
        listener.Stop();
        await serving;
        return result;
    }

    /// <summary>Runs against <paramref name="server"/> with its key in the environment.</summary>
    public static Task<CliResult> RunAsync(KeyedServer server, params string[] arguments) =>
        RunAsync(new Dictionary<string, string?> { ["BATON_URL"] = server.BaseAddress.ToString(), ["BATON_ADMIN_KEY"] = server.Key }, arguments);
}

/// <summary>One real server on SQLite shared by the tests of a class.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public KeyedServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await KeyedServer.StartAsync(TestStore.Sqlite);

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
