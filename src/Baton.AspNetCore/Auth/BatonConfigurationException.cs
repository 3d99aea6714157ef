namespace Baton.Server.Configuration;

/// <summary>Configuration the server cannot start with; the message lists every problem.</summary>
public sealed class BatonConfigurationException(string message) : Exception(message);
