using Baton.Server.Logging;
using Baton.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Baton.Server.Tests.Logging;

/// <summary>Configured secrets are masked by value in every log line: messages, values, exceptions.</summary>
public sealed class SecretRedactionTests
{
    private const string Secret = "medipim-Secret/77+x";

    private static readonly SecretRedactor Redactor = new([new LogSecret(Secret), new LogSecret("abc")]);

    [Theory]
    [InlineData("GET /feed/medipim-Secret/77+x/items", "GET /feed/***/items")]
    [InlineData("https://api.example/v4?anything=medipim-Secret%2F77%2Bx", "https://api.example/v4?anything=***")]
    [InlineData("https://api.example/v4?anything=medipim-Secret%2f77%2bx", "https://api.example/v4?anything=***")]
    [InlineData("http://user:hunter22@worker:3000/enqueue", "http://user:***@worker:3000/enqueue")]
    [InlineData("abc stays: a secret under 4 characters is not matched", "abc stays: a secret under 4 characters is not matched")]
    [InlineData("nothing here", "nothing here")]
    public void Redact_SecretAsWrittenOrEncoded_IsMasked(string text, string expected) =>
        Assert.Equal(expected, Redactor.Redact(text));

    [Theory]
    [InlineData("POST http://svc:pa/ss-9f2@127.0.0.1:9/enqueue refused", "POST http://svc:***@127.0.0.1:9/enqueue refused")]
    [InlineData("amqp://guest:pa?ss#9f2@127.0.0.1:5672/ unreachable", "amqp://guest:***@127.0.0.1:5672/ unreachable")]
    [InlineData("http://svc:pa@ss-9f2@worker:3000", "http://svc:***@worker:3000")]
    [InlineData("GET http://127.0.0.1:5000/api/runs failed for bob@example.com", "GET http://127.0.0.1:5000/api/runs failed for bob@example.com")]
    public void Redact_UrlWhosePasswordHoldsAPathCharacterOrAnAt_PasswordMaskedWhole(string text, string expected) =>
        // Before: the password was taken to end at the first '/' or '@', so 'pa/ss-9f2' and 'pa?ss#9f2' were logged whole
        // and of 'pa@ss-9f2' only 'pa' was masked (the text of a URL that does not parse, as an exception quotes it).
        Assert.Equal(expected, Redactor.Redact(text));

    [Theory]
    [InlineData("?token2=test-admin-key-5b1d9e7c2a8f4e60", "?token2=***")]
    [InlineData("?a=1&test-admin-key-5b1d9e7c2a8f4e60=x", "?a=1&***=x")]
    [InlineData("?q=%74est-admin-key-5b1d9e7c2a8f4e60", "?q=***")]
    [InlineData("?q=prefix-test-admin-key-5b1d9e7c2a8f4e60", "?q=***")]
    [InlineData("?q=fine&flag", "?q=fine&flag")]
    public void RedactQuery_ConfiguredSecretUnderAnyName_IsMasked(string query, string expected) =>
        Assert.Equal(expected, Redaction.RedactQuery(query, new SecretRedactor([new LogSecret(InProcessServer.AdminKey)])));

    [Fact]
    public void Redact_ExceptionWithSecretInItsChain_KeepsTypeMessagesAndStackTrace()
    {
        var original = Thrown(() => throw new InvalidOperationException("sync failed", new HttpRequestException($"GET https://api.example/v4/{Secret} failed")));

        var redacted = Redactor.Redact(original);

        var text = redacted.ToString();
        Assert.IsType<RedactedException>(redacted);
        Assert.Equal(typeof(InvalidOperationException), ((RedactedException)redacted).OriginalType);
        Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
        Assert.Contains("System.InvalidOperationException: sync failed", text, StringComparison.Ordinal);
        Assert.Contains("System.Net.Http.HttpRequestException: GET https://api.example/v4/*** failed", text, StringComparison.Ordinal);
        Assert.Contains(nameof(Thrown), text, StringComparison.Ordinal);
        Assert.Equal(original.StackTrace, redacted.StackTrace);
    }

    [Fact]
    public void Redact_ExceptionWithoutSecret_IsTheSameException()
    {
        var original = Thrown(() => throw new TimeoutException("no answer"));

        Assert.Same(original, Redactor.Redact(original));
    }

    [Fact]
    public async Task Logs_AdminKeyInPathSegmentOrAnyParameter_IsMasked()
    {
        await using var server = await InProcessServer.StartAsync(minimumLevel: LogLevel.Trace);
        var key = InProcessServer.AdminKey;

        using var inPath = await server.Anonymous.GetAsync($"/api/runs/{key}");
        using var inPathKeyed = await server.Client.GetAsync($"/api/runs/{key}");
        using var underAnyName = await server.Client.GetAsync($"/api/runs?cursor={key}&limit=5");
        using var asName = await server.Client.GetAsync($"/api/workflows?{key}=1");
        using var partlyEncoded = await server.Client.GetAsync($"/api/workflows?q=%74{key[1..]}");

        var text = server.Logs.AllText();
        Assert.DoesNotContain(key, text, StringComparison.Ordinal);
        Assert.DoesNotContain(key[1..], text, StringComparison.Ordinal);
        Assert.Contains(server.Logs.Entries, e => e.EventId == 1200 && e.Message.Contains("/api/runs/***", StringComparison.Ordinal));
        Assert.Contains(server.Logs.Entries, e => e.EventId == 1400 && e.Message.Contains("/api/runs/***", StringComparison.Ordinal));
        Assert.Contains(server.Logs.Entries, e => e.EventId == 1400 && e.Message.Contains("/api/runs?cursor=***&limit=5", StringComparison.Ordinal));
        Assert.Contains(server.Logs.Entries, e => e.EventId == 1400 && e.Message.Contains("/api/workflows?***=1", StringComparison.Ordinal));
        Assert.Contains(server.Logs.Entries, e => e.EventId == 1400 && e.Message.Contains("/api/workflows?q=***", StringComparison.Ordinal));
        // The structured values a JSON formatter writes are masked too, not only the message.
        Assert.DoesNotContain(server.Logs.Entries.SelectMany(e => e.Values), v => v.Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Logs_FailureWithCatalogSecretInItsMessage_CarriesStackTraceWithoutTheSecret()
    {
        const string apiSecret = "catalog-api-secret-93f1";
        await using var server = await InProcessServer.StartAsync(
            new Dictionary<string, string>
            {
                ["Baton:Apps:CatalogSync:Enabled"] = "true",
                ["Baton:Apps:CatalogSync:ApiUrl"] = "http://127.0.0.1:9/v4/products/stream",
                ["Baton:Apps:CatalogSync:Schedule:Enabled"] = "false",
                ["MEDIPIM_API_KEY_SECRET"] = apiSecret,
            },
            apps: [new Baton.Apps.CatalogSync.CatalogSyncApp()]);
        var logger = server.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Baton.Apps.CatalogSync.Test");
        var failure = Thrown(() => throw new HttpRequestException($"the feed at https://medipim.example/v4?apiSecret={apiSecret} could not be reached"));

        logger.LogError(failure, "Feed failed: {Reason}", failure.Message);
        using var viaUrl = await server.Client.GetAsync($"/status?s={apiSecret}");

        var text = server.Logs.AllText();
        Assert.DoesNotContain(apiSecret, text, StringComparison.Ordinal);
        var logged = Assert.Single(server.Logs.Entries, e => e.Message.StartsWith("Feed failed", StringComparison.Ordinal));
        Assert.Equal("Feed failed: the feed at https://medipim.example/v4?apiSecret=*** could not be reached", logged.Message);
        Assert.Contains("System.Net.Http.HttpRequestException: the feed at https://medipim.example/v4?apiSecret=*** could not be reached", logged.Exception, StringComparison.Ordinal);
        Assert.Contains($"at {typeof(SecretRedactionTests).FullName}", logged.Exception, StringComparison.Ordinal);
        Assert.Contains(server.Logs.Entries, e => e.EventId == 1400 && e.Message.Contains("/status?s=***", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Logs_OtlpHeaderValueInAFailure_IsMasked()
    {
        // Before: the server masked the admin key and the PostgreSQL password, not the collector's key in the OTLP exporter's
        // headers, so a failure quoting that key (an HTTP client's request dump) was logged with it.
        const string headerKey = "otlp-h3ader-key-41c7";
        await using var server = await InProcessServer.StartAsync(new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_HEADERS"] = $"x-tenant=t1,api-key={headerKey}",
            ["OTEL_EXPORTER_OTLP_TRACES_HEADERS"] = "authorization=Basic%20dHJhY2VzLXVzZXI6cGFzcw%3D%3D",
        });
        var logger = server.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Baton.Server.Tests.Otlp");

        logger.LogError("collector at http://127.0.0.1:4318 refused api-key {Key} and Basic dHJhY2VzLXVzZXI6cGFzcw==", headerKey);

        var logged = Assert.Single(server.Logs.Entries, e => e.Message.StartsWith("collector at", StringComparison.Ordinal));
        Assert.Equal("collector at http://127.0.0.1:4318 refused api-key *** and ***", logged.Message);
        Assert.DoesNotContain(headerKey, server.Logs.AllText(), StringComparison.Ordinal);
    }

    private static Exception Thrown(Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            return ex;
        }

        throw new InvalidOperationException("the action did not throw");
    }
}
