namespace Baton.Storage;

/// <summary>
/// Thrown when a store that one process owns at a time (the embedded SQLite store) is already open in another
/// process. The server reports it as a configuration error (exit code 2).
/// </summary>
public sealed class StoreInUseException : InvalidOperationException
{
    /// <summary>Creates the exception for the store at <paramref name="path"/>.</summary>
    public StoreInUseException(string path, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Path = path;
    }

    /// <summary>The database (or lock file) that another process holds.</summary>
    public string Path { get; }
}
