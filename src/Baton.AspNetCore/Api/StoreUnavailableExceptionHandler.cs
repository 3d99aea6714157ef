using System.Data.Common;
using Baton.Server.Http;
using Baton.Storage;
using Microsoft.AspNetCore.Diagnostics;

namespace Baton.Server.Api;

/// <summary>
/// Turns a store error that a retry can get past (a connection the database dropped, a failover, a database busy or
/// starting) into a 503 problem with <c>Retry-After</c>, instead of ASP.NET Core's generic 500: a pooled PostgreSQL
/// connection whose backend was terminated fails its next command once (57P01), and a client should retry then. Only on
/// Baton's endpoints and an app's routes with <c>WithStoreTimeout()</c> (<see cref="BatonRoutes"/>): an error of an embedding
/// app's own database on its own routes is the app's to answer.
/// </summary>
internal sealed class StoreUnavailableExceptionHandler(IProblemDetailsService problems, ILogger<StoreUnavailableExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (httpContext.Response.HasStarted || !BatonRoutes.Answers(httpContext, storeError: true) || Transient(exception, httpContext.RequestServices.GetService<IBatonStore>() as IStoreErrors) is not { } store)
        {
            return false;
        }

        Log.StoreUnavailable(logger, store, httpContext.Request.Method, httpContext.Request.Path, store.GetType().Name, store.SqlState ?? "-");
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = StoreUnavailableProblem.Prepare(
                httpContext.Response,
                "the store could not complete the request (a dropped connection, a failover, a busy database or a full disk); retry in a moment "
                    + "(a start or an event with an Idempotency-Key is safe to repeat)"),
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// The store error in <paramref name="exception"/>'s chain that a retry can get past, or null: one the store says is
    /// (<see cref="IStoreErrors"/>: PostgreSQL's session terminated or server restarting, SQLite's full disk, I/O error, read-only
    /// file or lock held past the busy timeout), or any <see cref="DbException"/> that calls itself transient.
    /// </summary>
    internal static DbException? Transient(Exception exception, IStoreErrors? store)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is DbException db && (db.IsTransient || store?.IsTransient(db) == true))
            {
                return db;
            }
        }

        return null;
    }
}
