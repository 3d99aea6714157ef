namespace Baton.Storage;

/// <summary>
/// This process no longer holds its node id: the store's proof that no other live process leases under the same name
/// broke (on PostgreSQL, the session holding the node id's advisory lock was cut), and another process has taken the id
/// since. Its leases, renewals and claims are refused from then on; the engine stops the host, so a supervisor starts
/// a process that gets an id of its own.
/// </summary>
public sealed class NodeIdLostException : Exception
{
    public NodeIdLostException(string message) : base(message)
    {
    }

    public NodeIdLostException()
        : this("another live process holds this node id")
    {
    }

    public NodeIdLostException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
