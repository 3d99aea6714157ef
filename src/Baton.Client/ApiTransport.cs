using System.Net;
using System.Net.Http.Json;
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
            request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        }

        return request;
    }

    /// <summary>A JSON body: a <see cref="JsonElement"/> as it is, anything else serialized with the web defaults.</summary>
    public static HttpContent JsonBody<T>(T value) => value is JsonElement element
        ? new StringContent(element.GetRawText(), System.Text.Encoding.UTF8, "application/json")
        : JsonContent.Create(value, options: Json);

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
