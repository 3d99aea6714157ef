using Baton.Hosting;

namespace Baton.Server.Configuration;

/// <summary>Wires the store chosen in configuration into the engine.</summary>
internal static class StoreRegistration
{
    public static BatonBuilder UseConfiguredStore(BatonBuilder baton, BatonServerOptions options) =>
        // Placeholder until the SQLite store (branch sqlite-store) lands on main.
        baton.UseStore(_ => throw new InvalidOperationException($"the SQLite store is not available in this build (path {options.SqlitePath})"));
}
