namespace Baton.Testing;

/// <summary>Environment for server processes that stand for separate nodes or re-created containers.</summary>
public static class ServerEnvironment
{
    /// <summary>
    /// A home directory of its own (so ASP.NET Core's default Data Protection key ring is the process's own), and
    /// <paramref name="keys"/> as <c>Baton:DataProtection:KeysPath</c> when given (null leaves the setting unset).
    /// </summary>
    public static Dictionary<string, string?> OwnHome(string? keys) => new()
    {
        ["HOME"] = TestPaths.NewTempDirectory(),
        ["Baton__DataProtection__KeysPath"] = keys,
    };
}
