using System.Net;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Baton.Client;

/// <summary>Sends requests and turns problem details into <see cref="BatonApiException"/>.</summary>
internal static class ApiTransport
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static HttpRequestMessage Request(HttpMethod method, string path, object? body = null, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }

        if (idempotencyKey is not null)
        {
            if (IdempotencyKeyProblem(idempotencyKey) is { } problem)
            {
                throw new ArgumentException(problem, nameof(idempotencyKey));
            }

            request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        }

        return request;
    }

    /// <summary>
    /// Why <paramref name="key"/> cannot be sent as the <c>Idempotency-Key</c> header, or null. A header value is printable
    /// ASCII: a CR or LF would end the header and start another (a key could carry a second request, admin key and all),
    /// other bytes are refused by the server or changed on the way, and spaces at either end are trimmed off by it.
    /// </summary>
    public static string? IdempotencyKeyProblem(string key) =>
        key.Length == 0 || key.AsSpan().ContainsAnyExceptInRange((char)0x20, (char)0x7E) || key[0] == ' ' || key[^1] == ' '
            ? "an idempotency key is sent as an HTTP header: 1 or more printable ASCII characters (letters, digits, punctuation, "
              + "inner spaces), without control characters or spaces at either end"
            : null;

    /// <summary>
    /// <paramref name="value"/> escaped as one path segment. "." and ".." are refused: on the way to the server they are
    /// path steps, not names, and the request would reach another route (no run, schedule or workflow is named so).
    /// </summary>
    public static string Segment(string value, string what, [CallerArgumentExpression(nameof(value))] string? paramName = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(value, paramName);
        return value is "." or ".."
            ? throw new ArgumentException($"'{value}' cannot name a {what}: a URL reads it as a path step", paramName)
            : Uri.EscapeDataString(value);
    }

    /// <summary>
    /// A JSON body: a <see cref="JsonElement"/> as it is, anything else serialized with the web defaults. A
    /// <see cref="JsonElement"/> left at its default (a property the JSON it was read from lacked) has no value to write:
    /// it is no body, so no input or payload, as <see cref="BatonApiClient.SetScheduleAsync"/> reads it too.
    /// </summary>
    public static HttpContent? JsonBody<T>(T value) => value switch
    {
        JsonElement { ValueKind: JsonValueKind.Undefined } => null,
        JsonElement element => new StringContent(element.GetRawText(), System.Text.Encoding.UTF8, "application/json"),
        _ => JsonContent.Create(value, options: Json),
    };

    /// <summary>Sends the request; a non-success status becomes a <see cref="BatonApiException"/>.</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            throw await ToExceptionAsync(response, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The body as <typeparamref name="T"/>. A success answer that is not that JSON (an HTML page from a proxy or a login
    /// page, another service on that port) is a <see cref="BatonApiException"/> saying so, not a bare JSON error.
    /// </summary>
    public static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        using (response)
        {
            try
            {
                return await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken).ConfigureAwait(false)
                    ?? throw new BatonApiException(response.StatusCode, "Empty response", $"{(int)response.StatusCode} without a body");
            }
            catch (Exception ex) when (ex is JsonException or NotSupportedException)
            {
                var mediaType = response.Content.Headers.ContentType?.MediaType ?? "no content type";
                throw new BatonApiException(
                    response.StatusCode,
                    "Not a Baton answer",
                    $"the server answered {(int)response.StatusCode} with {mediaType} that is not the expected JSON; is the URL Baton's API? ({ex.Message})");
            }
        }
    }

    public static async Task<BatonApiException> ToExceptionAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = response.StatusCode;
        if ((int)status is >= 300 and < 400)
        {
            // Not followed (BatonApiClient.NoRedirects): said with where it pointed, without any user info in it.
            var to = response.Headers.Location is { } location
                ? (location.IsAbsoluteUri ? new UriBuilder(location) { UserName = "", Password = "" }.Uri.ToString() : location.OriginalString)
                : "nowhere";
            return new BatonApiException(status, "Redirected", $"the server answered {(int)status}, pointing to {to}, which is not an answer of Baton's API; the client follows no redirect (the admin key would go along). Is the URL Baton's API?");
        }

        var fallbackTitle = response.ReasonPhrase is { Length: > 0 } reason ? reason : status.ToString();
        string text;
        try
        {
            text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
            return new BatonApiException(status, fallbackTitle, null);
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return new BatonApiException(status, fallbackTitle, Shorten(text));
            }

            string? title = null, detail = null, type = null;
            var extensions = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                var value = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : null;
                switch (property.Name)
                {
                    case "title":
                    case "error":
                        title ??= value;
                        break;
                    case "detail":
                        detail = value;
                        break;
                    case "type":
                        type = value;
                        break;
                    case "status":
                        break;
                    default:
                        extensions[property.Name] = property.Value.Clone();
                        break;
                }
            }

            return new BatonApiException(status, title ?? fallbackTitle, detail, type, extensions);
        }
        catch (JsonException)
        {
            return new BatonApiException(status, fallbackTitle, Shorten(text));
        }
    }

    private static string? Shorten(string text) => text.Length == 0 ? null : text.Length <= 300 ? text : text[..300] + "…";

    /// <summary>
    /// A 404 that says the run, schedule or workflow does not exist (<c>urn:baton:problem:{kind}-not-found</c>). A 404
    /// for a path no route matches (a wrong base URL, a proxy prefix) is not one: it stays an error, not "no such run".
    /// </summary>
    public static bool IsNotFound(BatonApiException ex) =>
        ex.Status == HttpStatusCode.NotFound
        && ex.Type is { } type && type.StartsWith(ProblemTypePrefix, StringComparison.Ordinal) && type.EndsWith("-not-found", StringComparison.Ordinal)
        && type.Length > ProblemTypePrefix.Length + "-not-found".Length;

    private const string ProblemTypePrefix = "urn:baton:problem:";
}
