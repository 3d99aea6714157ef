using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Baton.Cli.Tests;

/// <summary>Exit codes for an unreachable server, a refused key and bad arguments; the key never printed.</summary>
public sealed class AccessAndUsageTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task AnyCommand_NothingListening_Exit3NamingTheServer()
    {
        var port = Ports.Free();

        var result = await BatonProcess.RunAsync(
            new Dictionary<string, string?> { ["BATON_URL"] = $"http://127.0.0.1:{port}", ["BATON_ADMIN_KEY"] = "secret-key-unreachable" }, "runs", "list");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains($"cannot reach the server at http://127.0.0.1:{port}", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-key-unreachable", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCommand_WrongKeyFromOption_Exit4AndKeyNotEchoed()
    {
        var result = await BatonProcess.RunAsync(
            new Dictionary<string, string?> { ["BATON_URL"] = fixture.Server.BaseAddress.ToString() }, "runs", "list", "--key", "wrong-key-7f3a9c");

        Assert.Equal(4, result.ExitCode);
        Assert.Contains("refused the admin key", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-key-7f3a9c", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCommand_NoKey_Exit4()
    {
        var result = await BatonProcess.RunAsync(new Dictionary<string, string?> { ["BATON_URL"] = fixture.Server.BaseAddress.ToString() }, "workflows");

        Assert.Equal(4, result.ExitCode);
    }

    [Fact]
    public async Task Runs_UnknownSubcommand_Exit2WithHelpHint()
    {
        var result = await BatonProcess.RunAsync(fixture.Server, "runs", "lst");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Unrecognized command or argument 'lst'", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("baton runs --help", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunsList_LimitOutOfRange_Exit2()
    {
        var result = await BatonProcess.RunAsync(fixture.Server, "runs", "list", "--limit", "0");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--limit must be a whole number from 1 to 500", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("99999999999")]
    public async Task RunsList_LimitNotANumberOrPastInt_Exit2WithoutAStackTrace(string limit)
    {
        var result = await BatonProcess.RunAsync(fixture.Server, "runs", "list", "--limit", limit);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--limit must be a whole number from 1 to 500", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("runs", "get", "")]
    [InlineData("runs", "cancel", " ")]
    [InlineData("runs", "retry", "")]
    [InlineData("runs", "watch", "")]
    [InlineData("runs", "start", "")]
    [InlineData("events", "send", "", "go")]
    [InlineData("events", "send", "0123456789abcdef0123456789abcdef", "")]
    [InlineData("schedules", "delete", "")]
    [InlineData("schedules", "set", "", "-w", "demo", "-c", "0 0 * * *")]
    public async Task AnyCommand_EmptyArgument_Exit2NamingItWithoutAStackTrace(params string[] args)
    {
        var result = await BatonProcess.RunAsync(fixture.Server, args);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("cannot be empty", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCommand_UrlNotHttp_Exit2()
    {
        var result = await BatonProcess.RunAsync(fixture.Server, "nodes", "--url", "ftp://example");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--url 'ftp://example' is not an http(s) URL", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCommand_BatonUrlVariableNotHttp_Exit2NamingTheVariable()
    {
        // Before: "--url 'notaurl' is not an http(s) URL", though no --url was given.
        var result = await BatonProcess.RunAsync(new Dictionary<string, string?> { ["BATON_URL"] = "notaurl", ["BATON_ADMIN_KEY"] = null }, "nodes");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("BATON_URL 'notaurl' is not an http(s) URL", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--url", "ftp://ops:s3cretpw@example/")]
    [InlineData("BATON_URL", "htp://ops:s3cretpw@example")]
    public async Task AnyCommand_UrlNotHttpWithAPassword_Exit2WithoutThePassword(string source, string url)
    {
        // Before: "--url 'ftp://ops:s3cretpw@example/' is not an http(s) URL", the password on the operator's screen and in CI logs.
        var result = source == "--url"
            ? await BatonProcess.RunAsync(fixture.Server, "nodes", "--url", url)
            : await BatonProcess.RunAsync(new Dictionary<string, string?> { ["BATON_URL"] = url, ["BATON_ADMIN_KEY"] = null }, "nodes");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"{source} '{url.Replace("ops:s3cretpw@", "", StringComparison.Ordinal)}' is not an http(s) URL", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cretpw", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://ops:s3c/retpw@127.0.0.1:5000", "s3c/retpw")]
    [InlineData("http://ops:s3c?retpw@127.0.0.1:5000/x", "s3c?retpw")]
    [InlineData("http://ops:s3c#retpw@127.0.0.1:5000", "s3c#retpw")]
    public async Task AnyCommand_UrlThatDoesNotParseWithAPasswordHoldingAPathCharacter_Exit2WithoutThePassword(string url, string password)
    {
        // Before: the user info was taken to end at the first '/', '?' or '#', so "BATON_URL 'http://ops:s3c/retpw@127.0.0.1:5000'
        // is not an http(s) URL" printed the password whole.
        var result = await BatonProcess.RunAsync(new Dictionary<string, string?> { ["BATON_URL"] = url, ["BATON_ADMIN_KEY"] = null }, "nodes");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.DoesNotContain(password, result.Stdout + result.Stderr, StringComparison.Ordinal);
        Assert.Contains("BATON_URL 'http://127.0.0.1:5000", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_RunsStart_Exit0WithExamples()
    {
        var result = await BatonProcess.RunAsync(fixture.Server, "runs", "start", "--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Examples:", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("baton runs start demo", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCommand_UrlAnswers200WithAnHtmlPage_Exit1SayingSoWithoutAStackTrace()
    {
        // A proxy's or a login page, or another service on that port. Before: an unhandled JsonException, ~20 lines of stack.
        var result = await BatonProcess.RunAgainstHtmlPageAsync("200 OK", "workflows");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("baton: 200 Not a Baton answer: the server answered 200 with text/html that is not the expected JSON", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunsGet_UrlWithAWrongBasePath_SaysNoRouteNotNoSuchRun()
    {
        var id = (await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":1,"delayMs":0}""", "--json")).Json().GetProperty("run").GetProperty("id").GetString()!;

        var result = await BatonProcess.RunAsync(
            new Dictionary<string, string?> { ["BATON_URL"] = new Uri(fixture.Server.BaseAddress, "proxy-prefix/").ToString(), ["BATON_ADMIN_KEY"] = fixture.Server.Key }, "runs", "get", id);
        // The dashboard's URL pasted by mistake: its sign-in page, which is not the API's JSON either.
        var dashboard = await BatonProcess.RunAsync(
            new Dictionary<string, string?> { ["BATON_URL"] = new Uri(fixture.Server.BaseAddress, "ui/").ToString(), ["BATON_ADMIN_KEY"] = fixture.Server.Key }, "runs", "get", id);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("404 No such route", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("no run with id", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, dashboard.ExitCode);
        Assert.Contains("302 Redirected: the server answered 302, pointing to ", dashboard.Stderr, StringComparison.Ordinal);
        Assert.Contains("Is the URL Baton's API?", dashboard.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunsList_SinceWithoutOffset_ReadAsUtcWhateverTheMachinesTimeZone()
    {
        // Before: read in the machine's time zone, so on a UTC+9 machine "a minute from now" meant nine hours ago.
        await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":1,"delayMs":0}""");
        var inAMinute = DateTime.UtcNow.AddMinutes(1).ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        var environment = new Dictionary<string, string?>
        {
            ["BATON_URL"] = fixture.Server.BaseAddress.ToString(), ["BATON_ADMIN_KEY"] = fixture.Server.Key, ["TZ"] = "Asia/Tokyo",
        };

        var later = await BatonProcess.RunAsync(environment, "runs", "list", "--since", inAMinute, "--json");
        var earlier = await BatonProcess.RunAsync(environment, "runs", "list", "--before", inAMinute, "--json");

        Assert.Equal(0, later.Json().GetProperty("runs").GetArrayLength());
        Assert.True(earlier.Json().GetProperty("runs").GetArrayLength() >= 1);
    }

    [Fact]
    public async Task RunsList_SinceNotATime_Exit2()
    {
        var result = await BatonProcess.RunAsync(fixture.Server, "runs", "list", "--since", "yesterday");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("'yesterday' is not a time", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCommand_KeyNotAscii_Exit2WithoutTheKey()
    {
        // Before: exit 3 "cannot reach the server", although the server was up: the header could not be sent.
        var result = await BatonProcess.RunAsync(
            new Dictionary<string, string?> { ["BATON_URL"] = fixture.Server.BaseAddress.ToString() }, "workflows", "--key", "секрет-ключ-42");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("the admin key holds a character that is not printable ASCII", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("секрет", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCommand_UrlWithCredentialsUnreachable_CredentialsNotEchoed()
    {
        var port = Ports.Free();

        var result = await BatonProcess.RunAsync(
            new Dictionary<string, string?> { ["BATON_URL"] = $"http://user:s3cretpw@127.0.0.1:{port}", ["BATON_ADMIN_KEY"] = "k-0123456789" }, "workflows");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains($"cannot reach the server at http://127.0.0.1:{port}", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cretpw", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCommand_ServerRedirectsElsewhere_KeyNotSentThereExit1NamingWhere()
    {
        // Before: the client followed the redirect, and .NET kept the X-ADMIN-KEY header on the way to the other host.
        using var redirecting = new TcpListener(IPAddress.Loopback, 0);
        using var elsewhere = new TcpListener(IPAddress.Loopback, 0);
        redirecting.Start();
        elsewhere.Start();
        var target = $"http://127.0.0.1:{((IPEndPoint)elsewhere.LocalEndpoint).Port}/collect";
        var serving = CannedHttpAnswer.ServeAsync(redirecting, $"HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

        var result = await BatonProcess.RunAsync(
            new Dictionary<string, string?>
            {
                ["BATON_URL"] = $"http://127.0.0.1:{((IPEndPoint)redirecting.LocalEndpoint).Port}", ["BATON_ADMIN_KEY"] = "k-redirected-0123456789",
            },
            "workflows");
        var reached = elsewhere.Pending();
        redirecting.Stop();
        elsewhere.Stop();
        await serving;

        Assert.False(reached, "the client connected to the host the redirect named");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"302 Redirected: the server answered 302, pointing to {target}, which is not an answer of Baton's API", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("k-redirected-0123456789", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunsStart_IdempotencyKeyWithALineBreak_Exit2AndNoSecondRequestReachesTheServer()
    {
        // Before: sent raw, the CR LF ended the header and the rest of the key was a second request carrying the admin key.
        var smuggledKey = "smuggled-" + Guid.NewGuid().ToString("N");
        var key = $"k1\r\nContent-Length: 0\r\n\r\nPOST /api/workflows/demo/runs HTTP/1.1\r\nHost: x\r\nIdempotency-Key: {smuggledKey}\r\nX-Pad: x";

        var result = await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":1,"delayMs":0}""", "--idempotency-key", key);
        var nonAscii = await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":1,"delayMs":0}""", "--idempotency-key", "été");
        // A start with the smuggled key creates its run now: no request had stored one under it.
        var probe = await BatonProcess.RunAsync(fixture.Server, "runs", "start", "demo", "--input", """{"items":1,"delayMs":0}""", "--idempotency-key", smuggledKey, "--json");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("an idempotency key is sent as an HTTP header", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, nonAscii.ExitCode);
        Assert.Contains("an idempotency key is sent as an HTTP header", nonAscii.Stderr, StringComparison.Ordinal);
        Assert.True(probe.Json().GetProperty("created").GetBoolean());
    }

    [Theory]
    [InlineData("runs", "get", "..")]
    [InlineData("runs", "cancel", ".")]
    [InlineData("schedules", "delete", "..")]
    public async Task AnyCommand_IdThatIsAPathStep_Exit2SayingItCannotNameOne(params string[] args)
    {
        // Before: sent as a dot segment, it reached another route ("404 No such route ... GET /api/", "405 /api/runs/cancel").
        var result = await BatonProcess.RunAsync(fixture.Server, args);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"'{args[2]}' cannot name a", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("a URL reads it as a path step", result.Stderr, StringComparison.Ordinal);
    }
}
