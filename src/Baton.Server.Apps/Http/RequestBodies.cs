using Microsoft.AspNetCore.Http;

namespace Baton.Server.Http;

/// <summary>
/// Reading what is left of a request body over its limit before the 413 is sent. Answered with the rest unread, a body larger
/// than the socket buffers was still being sent when the server closed the connection, and the client often lost the
/// answer to the reset that closing sends: the CLI said "cannot reach the server" for a 1.2 MB <c>--input-file</c>, and
/// HttpClient failed with a broken pipe (review 60).
/// </summary>
internal static class RequestBodies
{
    /// <summary>The largest body over its limit whose rest is read and dropped; a larger one is answered with the rest unread.</summary>
    public const long DropLimit = 16 * 1024 * 1024;

    private static readonly TimeSpan DropTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Reads <paramref name="body"/> to its end into nothing, for at most 10 s; a client that goes away or is too slow is left.</summary>
    public static async Task DropRestAsync(Stream body, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(DropTimeout);
        try
        {
            await body.CopyToAsync(Stream.Null, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or BadHttpRequestException)
        {
            // The 413 is sent (or not) as before.
        }
    }
}
