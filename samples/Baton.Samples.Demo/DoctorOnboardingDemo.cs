using System.Net.Sockets;
using Baton.Apps.DoctorOnboarding;
using Baton.Hosting;
using Baton.RabbitMq;
using Baton.Simulators.DoctorServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Baton.Samples.Demo;

/// <summary>
/// With the DoctorOnboarding app on and <c>Baton:Apps:DoctorOnboarding:Demo:Enabled</c> (on in Development): once the
/// server is up, checks that RabbitMQ and Redis answer; if they do, starts the doctor-services simulators in-process on
/// the app's queues and sends three doctor creations through the orchestrator's queue as an API gateway would, the
/// third with <c>assignPermissions</c> failing once (its saga is compensated). If they do not, one log line says how
/// to start them and nothing else happens.
/// </summary>
public static class DoctorOnboardingDemo
{
    internal const string GatewayClient = "doctor-onboarding.demo.gateway";

    /// <summary>Registers the demo when the app and the demo are switched on (pass to <c>BatonServer.RunAsync</c>'s configure).</summary>
    public static void Add(WebApplicationBuilder builder, BatonBuilder baton)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        var demo = configuration[$"{DoctorOptions.Section}:Demo:Enabled"] is { Length: > 0 } value
            ? string.Equals(value, "true", StringComparison.OrdinalIgnoreCase)
            : builder.Environment.IsDevelopment();
        if (!string.Equals(configuration[$"{DoctorOptions.Section}:Enabled"], "true", StringComparison.OrdinalIgnoreCase) || !demo)
        {
            return;
        }

        var options = DoctorOptions.Read(configuration);
        baton.AddNestClient(GatewayClient, options.Queue);
        builder.Services.AddHostedService(sp => new Runner(options, sp, sp.GetRequiredService<IHostApplicationLifetime>(), sp.GetRequiredService<ILogger<Runner>>()));
    }

    internal sealed class Runner(DoctorOptions options, IServiceProvider services, IHostApplicationLifetime lifetime, ILogger<Runner> logger) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            if (!await HostStarted.WaitAsync(lifetime, stoppingToken).ConfigureAwait(false))
            {
                return;
            }

            var rabbit = new Uri(options.RabbitMqUrl);
            var redis = RedisEndpoint(options.RedisUrl);
            if (!await AnswersAsync(rabbit.Host, rabbit.IsDefaultPort || rabbit.Port < 0 ? 5672 : rabbit.Port, stoppingToken).ConfigureAwait(false)
                || !await AnswersAsync(redis.Host, redis.Port, stoppingToken).ConfigureAwait(false))
            {
                Log.DoctorDemoSkipped(logger, $"tried {rabbit.Host}:{(rabbit.IsDefaultPort || rabbit.Port < 0 ? 5672 : rabbit.Port)} and {redis.Host}:{redis.Port}");
                return;
            }

            // Stand-ins of the services already on the queues (the doctor-services simulator started by hand, as the
            // app README's tour does): a second pair would share the saga's calls with them, each keeping its own
            // doctors, and the sagas would fail ("account ... not found"). The demo then leaves the queues to them.
            if (await ConsumersAsync(options.RabbitMqUrl, [options.AccountsQueue, options.ProviderDirectoryQueue], stoppingToken).ConfigureAwait(false) is { Length: > 0 } busy)
            {
                Log.DoctorDemoServicesPresent(logger, busy);
                return;
            }

            await using var simulators = await DoctorServicesHost.StartAsync(options.RabbitMqUrl, options.AccountsQueue, options.ProviderDirectoryQueue, options.Queue)
                .ConfigureAwait(false);
            var gateway = services.GetRequiredKeyedService<INestClient>(GatewayClient);
            var suffix = Guid.NewGuid().ToString("N")[..6];
            string[] emails = [$"ada-{suffix}@example.org", $"grace-{suffix}@example.org", $"edsger-{suffix}@example.org"];
            Log.DoctorDemoStarted(logger, options.AccountsQueue, options.ProviderDirectoryQueue, emails.Length, options.Queue);
            for (var i = 0; i < emails.Length; i++)
            {
                if (i == emails.Length - 1)
                {
                    simulators.Simulator.Faults.Set(options.Patterns.AccountsAssignPermissions, new PatternFault { FailTimes = 1, Message = "demo: the permissions service refused" });
                }

                try
                {
                    var reply = await gateway.SendAsync("orchestrator.doctor.create",
                        new { email = emails[i], password = "demo-password", fullName = $"Demo Doctor {i + 1}", dob = "1980-01-01", profile = new { degree = "MD" } },
                        TimeSpan.FromSeconds(60), stoppingToken).ConfigureAwait(false);
                    Log.DoctorDemoSaga(logger, emails[i], $"completed: {reply?.GetRawText()}");
                }
                catch (NestRpcException ex)
                {
                    Log.DoctorDemoSaga(logger, emails[i], $"failed: {ex.Error.GetRawText()}");
                }
                catch (Exception ex) when (ex is TimeoutException or RabbitMqUnavailableException)
                {
                    Log.DoctorDemoSaga(logger, emails[i], $"no reply: {ex.Message}");
                }
            }

            // The simulators stay up for the server's lifetime, so the doctors can be read back (getComposite).
            try
            {
                await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        /// <summary>The queues of <paramref name="queues"/> that already have a consumer, joined with ", "; empty when none has (or the broker cannot tell).</summary>
        private static async Task<string> ConsumersAsync(string rabbitMqUrl, string[] queues, CancellationToken cancellationToken)
        {
            var consumed = new List<string>();
            try
            {
                await using var connection = await new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(rabbitMqUrl) }
                    .CreateConnectionAsync("baton-doctor-demo-check", cancellationToken).ConfigureAwait(false);
                foreach (var queue in queues)
                {
                    // A passive declare of a queue that does not exist closes the channel: one channel per queue.
                    await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                    try
                    {
                        if ((await channel.QueueDeclarePassiveAsync(queue, cancellationToken).ConfigureAwait(false)).ConsumerCount > 0)
                        {
                            consumed.Add(queue);
                        }
                    }
                    catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
                    {
                        // No such queue yet: nobody consumes it.
                    }
                }
            }
            catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.BrokerUnreachableException or RabbitMQ.Client.Exceptions.OperationInterruptedException or IOException)
            {
                // The broker answered the TCP check but not this: the demo goes on as before.
            }

            return string.Join(", ", consumed);
        }

        private static (string Host, int Port) RedisEndpoint(string url)
        {
            if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme.StartsWith("redis", StringComparison.OrdinalIgnoreCase))
            {
                return (uri.Host, uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port);
            }

            var first = url.Split(',')[0];
            var colon = first.LastIndexOf(':');
            return colon > 0 && int.TryParse(first[(colon + 1)..], out var port) ? (first[..colon], port) : (first, 6379);
        }

        private static async Task<bool> AnswersAsync(string host, int port, CancellationToken cancellationToken)
        {
            using var client = new TcpClient();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(1));
            try
            {
                await client.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
                return true;
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                return false;
            }
        }
    }
}
