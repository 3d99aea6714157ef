using System.Diagnostics.Metrics;
using Baton.Hosting;
using Baton.Storage.Sqlite.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Baton.Storage.Sqlite;

public static class SqliteBatonBuilderExtensions
{
    /// <summary>
    /// Uses the embedded SQLite store. Options come from <paramref name="configure"/> and from anything
    /// bound to <c>IOptions&lt;SqliteStoreOptions&gt;</c> (e.g. <c>services.Configure&lt;SqliteStoreOptions&gt;(config)</c>);
    /// they are validated at start-up.
    /// </summary>
    public static BatonBuilder UseSqlite(this BatonBuilder builder, Action<SqliteStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<SqliteStoreOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(
            ServiceDescriptor.Singleton<IValidateOptions<SqliteStoreOptions>, SqliteStoreOptionsValidator>());
        return builder.UseStore(sp => new SqliteBatonStore(
            sp.GetRequiredService<IOptions<SqliteStoreOptions>>().Value,
            sp.GetService<ILoggerFactory>()?.CreateLogger<SqliteBatonStore>() ?? NullLogger<SqliteBatonStore>.Instance,
            sp.GetService<TimeProvider>(),
            sp.GetService<IMeterFactory>()));
    }
}
