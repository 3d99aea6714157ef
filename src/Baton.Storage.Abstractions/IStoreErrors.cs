namespace Baton.Storage;

/// <summary>
/// Optional for a store: says which of its own errors go away by themselves (its server restarting, a full disk being
/// freed), so a caller can answer "retry in a moment" (the HTTP API: 503 <c>store-unavailable</c> with <c>Retry-After</c>)
/// instead of treating them as bugs. Callers ask <c>DbException.IsTransient</c> first; a store names here the errors beyond
/// what its driver calls transient, and a store without it is left to that alone.
/// </summary>
public interface IStoreErrors
{
    /// <summary>Whether <paramref name="error"/>, thrown by this store and not transient by its driver's account, can be got past by trying again later.</summary>
    bool IsTransient(Exception error);
}
