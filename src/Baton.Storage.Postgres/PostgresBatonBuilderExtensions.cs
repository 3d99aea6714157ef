using Baton.Hosting;
using Baton.Storage.Postgres.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Baton.Storage.Postgres;

public static class PostgresBatonBuilderExtensions
{
    /// <summary>
    /// Uses the PostgreSQL store, for one node or several sharing one database. Options come from
    /// <paramref name="configure"/> and from anything bound to <c>IOptions&lt;PostgresStoreOptions&gt;</c>
    /// (e.g. <c>services.Configure&lt;PostgresStoreOptions&gt;(config)</c>); they are validated at start-up,
    /// and start-up fails with a clear message if the server cannot be reached. The store also wakes idle
    /// workers through LISTEN/NOTIFY when work arrives on any node.
    /// </summary>
    public static BatonBuilder UsePostgres(this BatonBuilder builder, Action<PostgresStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<PostgresStoreOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(
            ServiceDescriptor.Singleton<IValidateOptions<PostgresStoreOptions>, PostgresStoreOptionsValidator>());
        return builder.UseStore(sp => new PostgresBatonStore(
            sp.GetRequiredService<IOptions<PostgresStoreOptions>>().Value,
            sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetService<ILoggerFactory>()?.CreateLogger<PostgresBatonStore>() ?? NullLogger<PostgresBatonStore>.Instance,
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
    }
}
