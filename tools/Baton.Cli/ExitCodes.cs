namespace Baton.Cli;

/// <summary>The exit codes scripts can rely on.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>A run ended without succeeding, or the server refused the request (not found, conflict).</summary>
    public const int Failed = 1;

    /// <summary>Bad arguments, or input the server rejected as invalid (400) or too large (413).</summary>
    public const int Usage = 2;

    /// <summary>The server cannot be reached (connection refused, DNS, timeout).</summary>
    public const int Unreachable = 3;

    /// <summary>The server refused the admin key (401/403).</summary>
    public const int RefusedKey = 4;

    /// <summary>
    /// The server (or a proxy before it) failed: a 5xx answer. A script may try again later; before, it was 1, which a
    /// script could not tell from a run that failed.
    /// </summary>
    public const int ServerError = 5;
}
