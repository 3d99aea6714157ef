using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Baton.Retries;

/// <summary>
/// Where retry jitter comes from; injected so tests can fix it. A draw is a function of the run, the step and the
/// attempt, so a run resumed on another node computes the same delays as the node that made the attempt.
/// </summary>
public interface IJitterSource
{
    /// <summary>A value in [0, 1) for the delay after <paramref name="failedAttempt"/> of step <paramref name="stepKey"/> in run <paramref name="runId"/>.</summary>
    double Draw(string runId, string stepKey, int failedAttempt);
}

/// <summary>The default jitter: the first 53 bits of SHA-256 over (run id, step key, attempt).</summary>
internal sealed class HashedJitter : IJitterSource
{
    public double Draw(string runId, string stepKey, int failedAttempt) => HashDraw($"{runId}\n{stepKey}\n{failedAttempt}");

    /// <summary>A value in [0, 1) fixed by <paramref name="text"/>.</summary>
    public static double HashDraw(string text)
    {
        var hash = BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        return (hash >> 11) / (double)(1UL << 53);
    }
}
