using System.Security.Cryptography;
using System.Text;
using Baton.Server.Configuration;

namespace Baton.Server.Auth;

/// <summary>
/// The admin key, held only as its SHA-256 hash. A candidate is hashed too and the two 32-byte hashes
/// compared with <see cref="CryptographicOperations.FixedTimeEquals"/>, so neither the key's length nor
/// a matching prefix shows in the time a comparison takes.
/// </summary>
internal sealed class AdminKey
{
    /// <summary>The configuration key (and environment variable) the admin key is read from.</summary>
    public const string ConfigurationKey = "ADMIN_KEY";

    /// <summary>A configured key shorter than this gets a warning at start (a generated key has 48 characters).</summary>
    public const int RecommendedMinimumLength = 16;

    private readonly byte[] _hash;

    public AdminKey(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        _hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
    }

    /// <summary>
    /// A key nobody knows (48 random hex characters, never shown): what an embedding host that configured no admin key gets,
    /// so only its own authentication schemes let requests in.
    /// </summary>
    public static AdminKey Unknown() => new(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)));

    /// <summary>True when the key was generated at start (Development without <c>ADMIN_KEY</c>).</summary>
    public bool Generated { get; private init; }

    public bool Matches(string? candidate)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(candidate ?? ""), hash);
        // Evaluate the comparison even for an empty candidate so every rejection takes the same path.
        var equal = CryptographicOperations.FixedTimeEquals(hash, _hash);
        return equal && !string.IsNullOrEmpty(candidate);
    }

    /// <summary>
    /// The key from <c>ADMIN_KEY</c>. Without one, Development gets a generated key (returned in
    /// <paramref name="generatedKey"/> so the caller can print it once); any other environment throws.
    /// </summary>
    public static AdminKey Resolve(IConfiguration configuration, IHostEnvironment environment, out string? generatedKey)
    {
        generatedKey = null;
        var configured = configuration[ConfigurationKey];
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return new AdminKey(configured.Trim());
        }

        if (!environment.IsDevelopment())
        {
            throw new BatonConfigurationException(
                $"ADMIN_KEY is not set. Outside Development the server needs an admin key: set the ADMIN_KEY environment variable "
                + $"(e.g. ADMIN_KEY=$(openssl rand -hex 32)) or run with ASPNETCORE_ENVIRONMENT=Development to get a generated one. "
                + $"Environment: {environment.EnvironmentName}.");
        }

        generatedKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        return new AdminKey(generatedKey) { Generated = true };
    }
}
