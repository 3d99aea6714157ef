using System.Diagnostics.Metrics;
using Baton.Hosting;
using Baton.RabbitMq.Client;
using Baton.RabbitMq.Connection;
using Baton.RabbitMq.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Baton.RabbitMq;

/// <summary>Registers the RabbitMQ transport: the shared connection, NestJS-compatible servers and clients.</summary>
public static class BatonRabbitMqExtensions
{
    /// <summary>
    /// One shared connection (RabbitMQ.Client 7.2.2, automatic and topology recovery on), registered as
    /// <see cref="IRabbitMqConnection"/>. <paramref name="url"/>: <c>amqp://user:pass@host:port/vhost</c> (seed 004's
    /// <c>RABBITMQ_URL</c>); the password never appears in logs or errors. The connection opens on first use.
    /// </summary>
    /// <exception cref="ArgumentException">The URL is not an amqp:// or amqps:// URL.</exception>
    public static BatonBuilder AddRabbitMq(this BatonBuilder baton, string url, Action<RabbitMqOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(baton);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "amqps"))
        {
            throw new ArgumentException($"A RabbitMQ URL is amqp://user:pass@host:port/vhost; got {Baton.Diagnostics.UrlText.WithoutPassword(url ?? "")}.", nameof(url));
        }

        baton.Services.AddOptions<RabbitMqOptions>().Configure(o =>
        {
            o.Url = url;
            configure?.Invoke(o);
        }).Validate(o => o.PublishConfirmTimeout > TimeSpan.Zero, "RabbitMqOptions.PublishConfirmTimeout must be positive.");
        baton.Services.TryAddSingleton(TimeProvider.System);
        baton.Services.TryAddSingleton<RabbitMqConnection>();
        baton.Services.TryAddSingleton<IRabbitMqConnection>(sp => sp.GetRequiredService<RabbitMqConnection>());
        baton.Services.TryAddSingleton<ConfirmedPublisher>();
        baton.Services.TryAddSingleton(sp => new RabbitMqMetrics(sp.GetService<IMeterFactory>()));
        RunRoutes(baton);
        baton.Services.TryAddSingleton<RunStarter>();
        if (!baton.Services.Any(d => d.ServiceType == typeof(RunReplies)))
        {
            baton.Services.AddSingleton<RunReplies>();
            baton.Services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<RunReplies>());
        }

        return baton;
    }

    /// <summary>
    /// A NestJS-compatible RMQ microservice server on <paramref name="queue"/> (declared durable by default, like
    /// NestJS's default queueOptions). Add its patterns on the returned builder. Needs <see cref="AddRabbitMq"/>.
    /// It starts consuming when the host starts (in the background, retrying until the broker answers) and stops
    /// taking messages first when the host stops.
    /// </summary>
    public static NestServerBuilder AddNestServer(this BatonBuilder baton, string queue, Action<NestServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(baton);
        ArgumentException.ThrowIfNullOrEmpty(queue);
        var options = new NestServerOptions();
        configure?.Invoke(options);
        Validate(options);
        var builder = new NestServerBuilder(baton, queue, RunRoutes(baton));
        baton.Services.AddKeyedSingleton(queue, (sp, _) => new NestServer(
            queue,
            options,
            builder.Routes,
            sp.GetRequiredService<IRabbitMqConnection>(),
            sp.GetRequiredService<ConfirmedPublisher>(),
            sp.GetRequiredService<RunStarter>(),
            sp.GetService<Baton.Workflows.IWorkflowCatalog>(),
            sp.GetRequiredService<RabbitMqMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<NestServer>>()));
        baton.Services.AddSingleton<IHostedService>(sp => sp.GetRequiredKeyedService<NestServer>(queue));
        return builder;
    }

    /// <summary>
    /// A NestJS-compatible client of a remote service's <paramref name="queue"/>, registered as the keyed service
    /// <see cref="INestClient"/> with key <paramref name="name"/>. Needs <see cref="AddRabbitMq"/>.
    /// </summary>
    public static BatonBuilder AddNestClient(this BatonBuilder baton, string name, string queue, Action<NestClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(baton);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(queue);
        var options = new NestClientOptions();
        configure?.Invoke(options);
        if (options.MaxReplyBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(configure), options.MaxReplyBytes, "MaxReplyBytes must be positive.");
        }

        baton.Services.AddKeyedSingleton<INestClient>(name, (sp, _) => new NestClient(
            queue,
            options,
            sp.GetRequiredService<IRabbitMqConnection>(),
            sp.GetRequiredService<IOptions<RabbitMqOptions>>().Value.PublishConfirmTimeout,
            sp.GetRequiredService<RabbitMqMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<NestClient>>()));
        return baton;
    }

    // One catalog of run-starting routes per service collection, filled while the servers are configured.
    private static RunRouteCatalog RunRoutes(BatonBuilder baton)
    {
        if (baton.Services.FirstOrDefault(d => d.ServiceType == typeof(RunRouteCatalog))?.ImplementationInstance is RunRouteCatalog catalog)
        {
            return catalog;
        }

        catalog = new RunRouteCatalog();
        baton.Services.AddSingleton(catalog);
        return catalog;
    }

    private static void Validate(NestServerOptions options)
    {
        if (options.Prefetch == 0 || options.Concurrency == 0 || options.MaxMessageBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Prefetch, Concurrency and MaxMessageBytes must be positive.");
        }
    }
}
