using System.Data.Common;
using Microsoft.AspNetCore.Diagnostics;

namespace Baton.Server.Api;

/// <summary>
/// Turns a store error that a retry can get past (a connection the database dropped, a failover, a database busy or
/// starting) into a 503 problem with <c>Retry-After</c>, instead of ASP.NET Core's generic 500: a pooled PostgreSQL
/// connection whose backend was terminated fails its next command once (57P01), and a client should retry then.
/// </summary>
internal sealed class StoreUnavailableExceptionHandler(IProblemDetailsService problems, ILogger<StoreUnavailableExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (httpContext.Response.HasStarted || Transient(exception) is not { } store)
        {
            return false;
        }

        Log.StoreUnavailable(logger, store, httpContext.Request.Method, httpContext.Request.Path, store.GetType().Name, store.SqlState ?? "-");
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = "1";
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Type = Problems.TypePrefix + "store-unavailable",
                Title = "The store is unavailable",
                Detail = "the store could not complete the request (a dropped connection, a failover, a busy database or a full disk); retry in a moment "
                    + "(a start or an event with an Idempotency-Key is safe to repeat)",
            },
        });
    }

    /// <summary>The store error in <paramref name="exception"/>'s chain that a retry can get past, or null.</summary>
    internal static DbException? Transient(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            // 57P01-57P03: the server terminated the session, is shutting down, or cannot connect yet.
            if (e is DbException db && (db.IsTransient || db.SqlState is "57P01" or "57P02" or "57P03" || SqliteDiskError(db)))
            {
                return db;
            }
        }

        return null;
    }

    /// <summary>
    /// SQLite's disk full (13), I/O error (10) or read-only database (8): the disk, not the request; once space is freed or
    /// the file system is writable again the same process carries on. Before: ASP.NET Core's bare 500. Matched by type name:
    /// this assembly does not depend on Microsoft.Data.Sqlite, whose exception carries SQLite's result code as its ErrorCode.
    /// The same codes as SqliteFileErrors.IsDisk in Baton.Storage.Sqlite, which this assembly does not reference either.
    /// </summary>
    private static bool SqliteDiskError(DbException db) =>
        db.GetType().FullName == "Microsoft.Data.Sqlite.SqliteException" && db.ErrorCode is 13 or 10 or 8;
}
