namespace Baton.Retries;

/// <summary>
/// When a failed attempt is tried again. A pure function of the attempt number and a jitter draw:
/// the delay before attempt n+1 is <c>min(MaxDelay, BaseDelay * 2^(n-1)) * (1 - JitterFactor * r)</c>
/// (in whole milliseconds) with r drawn from the injected <see cref="IJitterSource"/> in [0, 1), a function of run, step and attempt.
/// </summary>
public sealed record RetryPolicy
{
    /// <summary>The seeds' policy: 4 attempts (3 retries), 5 s base, 5 min cap, 20 % jitter.</summary>
    public static RetryPolicy Default { get; } = new();

    /// <summary>A policy that never retries.</summary>
    public static RetryPolicy None { get; } = new() { MaxAttempts = 1 };

    /// <summary>Attempts in all, the first included. The default is 4 (3 retries).</summary>
    public int MaxAttempts { get; init; } = 4;

    /// <summary>The delay before the first retry. The default is 5 seconds.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest delay between attempts. The default is 5 minutes.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Share of the delay that jitter may take away, 0 to 1. The default is 0.2.</summary>
    public double JitterFactor { get; init; } = 0.2;

    /// <summary>
    /// Decides whether an error is retried. The default retries everything except
    /// <see cref="NonRetryableException"/>, argument and JSON-shape errors (they fail at once).
    /// </summary>
    public Func<Exception, bool> ShouldRetry { get; init; } = DefaultShouldRetry;

    /// <summary>The delay before the attempt after <paramref name="failedAttempt"/> (1-based).</summary>
    public TimeSpan NextDelay(int failedAttempt, double jitterDraw)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failedAttempt, 1);
        var exponent = Math.Min(failedAttempt - 1, 62);
        var raw = BaseDelay.TotalMilliseconds * Math.Pow(2, exponent);
        var capped = Math.Min(raw, MaxDelay.TotalMilliseconds);
        var jitter = Math.Clamp(JitterFactor, 0, 1) * Math.Clamp(jitterDraw, 0, 1);
        // Whole milliseconds, as timers count them: a due time stored for a resumed run is the one waited in memory.
        return TimeSpan.FromMilliseconds(Math.Floor(capped * (1 - jitter)));
    }

    /// <summary>
    /// When the attempt after <paramref name="failedAttempt"/> may start, or null if none is left. A
    /// <see cref="RetryAfterException"/> makes the wait at least its <see cref="RetryAfterException.RetryAfter"/>,
    /// up to <see cref="MaxDelay"/>.
    /// </summary>
    public DateTimeOffset? NextRetryAt(DateTimeOffset now, int failedAttempt, Exception error, double jitterDraw)
    {
        if (failedAttempt >= MaxAttempts || !ShouldRetry(error))
        {
            return null;
        }

        var delay = NextDelay(failedAttempt, jitterDraw);
        if (error is RetryAfterException { RetryAfter: var asked } && asked > delay)
        {
            // NextDelay is at most MaxDelay, so this never shortens the backoff.
            delay = asked < MaxDelay ? asked : MaxDelay;
        }

        return now + delay;
    }

    private static bool DefaultShouldRetry(Exception error) =>
        error is not (NonRetryableException or ArgumentException or System.Text.Json.JsonException or NotSupportedException);
}

/// <summary>Thrown by step code for an error that no retry can fix (a 4xx answer, invalid data).</summary>
public class NonRetryableException : Exception
{
    public NonRetryableException(string message) : base(message) { }

    public NonRetryableException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// Thrown by step code when the other side said when to try again (an HTTP <c>Retry-After</c>): the next attempt
/// waits at least <see cref="RetryAfter"/>, but never longer than the policy's <see cref="RetryPolicy.MaxDelay"/>
/// (nor less than its own backoff). Retried like any other error; the attempts still count.
/// </summary>
public class RetryAfterException : Exception
{
    public RetryAfterException(string message, TimeSpan retryAfter, Exception? inner = null) : base(message, inner)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retryAfter, TimeSpan.Zero);
        RetryAfter = retryAfter;
    }

    /// <summary>The wait the other side asked for.</summary>
    public TimeSpan RetryAfter { get; }
}
