namespace Baton.Client;

/// <summary>Adds the admin key as the <c>X-ADMIN-KEY</c> header to every request (nothing when the key is empty).</summary>
public sealed class AdminKeyHandler : DelegatingHandler
{
    /// <summary>The header the server reads the key from.</summary>
    public const string HeaderName = "X-ADMIN-KEY";

    private readonly Func<string?> _key;

    public AdminKeyHandler(string? key)
        : this(() => key)
    {
    }

    public AdminKeyHandler(Func<string?> key) => _key = key;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (_key() is { Length: > 0 } key && !request.Headers.Contains(HeaderName))
        {
            request.Headers.TryAddWithoutValidation(HeaderName, key);
        }

        return base.SendAsync(request, cancellationToken);
    }
}
