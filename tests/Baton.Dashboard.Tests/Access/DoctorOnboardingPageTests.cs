using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Baton.Dashboard.Tests.Infrastructure;
using Baton.Hosting;
using Baton.RabbitMq;
using Baton.Simulators.DoctorServices;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;

namespace Baton.Dashboard.Tests.Access;

/// <summary>The doctor onboarding page over plain HTTP against the real server with the app on the shared RabbitMQ (queues of its own) and Redis.</summary>
public sealed partial class DoctorOnboardingPageTests
{
    [Fact]
    public async Task DoctorOnboardingPage_AppEnabled_ShowsCacheCountersAndSagaTable()
    {
        var queues = new DoctorQueues();
        try
        {
            await using var server = await StartServerAsync(queues);
            using var client = server.NewBrowserlessClient();
            (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();

            using var response = await client.GetAsync("/ui/apps/doctor-onboarding");
            var html = await response.Content.ReadAsStringAsync();

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("<tr data-cache=\"hits\"><td>hits</td><td class=\"num\">0</td></tr>", html, StringComparison.Ordinal);
            Assert.Contains("<tr data-cache=\"misses\"><td>misses</td><td class=\"num\">0</td></tr>", html, StringComparison.Ordinal);
            Assert.Contains("<table id=\"doctor-sagas\">", html, StringComparison.Ordinal);
            Assert.Contains("href=\"/ui/apps/doctor-onboarding\"", html, StringComparison.Ordinal);
        }
        finally
        {
            await queues.DeleteAsync();
        }
    }

    [Fact]
    public async Task DoctorOnboardingPage_OneSagaSucceededOneCompensated_ListsBothWithTheirMarks()
    {
        var queues = new DoctorQueues();
        try
        {
            // The accounts and provider-directory simulators on their queues, as the app's services.
            await using var services = await DoctorServicesHost.StartAsync(queues.Rabbit, queues.Accounts, queues.Directory, eventsQueue: null);
            await using var server = await StartServerAsync(queues);
            await using var gateway = GatewayFor(queues);
            var orchestrator = gateway.GetRequiredKeyedService<INestClient>("gateway");

            var created = (await orchestrator.SendAsync("orchestrator.doctor.create", Doctor("ada"), TimeSpan.FromSeconds(60)))!.Value;
            // The second service fails for good: the saga undoes the account it created.
            services.Simulator.Faults.Set("doctor-profile.createEmpty", new PatternFault { FailAlways = true, Message = "directory down" });
            var refused = await Assert.ThrowsAsync<NestRpcException>(() => orchestrator.SendAsync("orchestrator.doctor.create", Doctor("grace"), TimeSpan.FromSeconds(60)));
            var runs = (await server.NewApiClient().ListAsync(new RunQuery { Workflow = "doctor-create" })).Runs;
            using var client = server.NewBrowserlessClient();
            (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();
            var html = (await client.GetStringAsync("/ui/apps/doctor-onboarding")).ReplaceLineEndings(" ");
            var rows = SagaRow().Matches(html).ToDictionary(m => m.Groups["id"].Value, m => (State: m.Groups["state"].Value, Status: m.Groups["status"].Value, Mark: m.Groups["mark"].Value.Trim()));

            Assert.Equal("completed", created.GetProperty("status").GetString());
            Assert.Equal("compensated", refused.Error.GetProperty("details").GetProperty("saga").GetProperty("state").GetString());
            Assert.Equal(2, runs.Count);
            var succeeded = Assert.Single(runs, r => r.Status == RunStatuses.Succeeded);
            var compensated = Assert.Single(runs, r => r.Status != RunStatuses.Succeeded);
            Assert.Equal(2, rows.Count);
            Assert.Equal(("none", "succeeded", ""), rows[succeeded.Id]);
            Assert.Equal(("compensated", compensated.Status, "↩ compensated"), rows[compensated.Id]);
            // Only the first doctor's account is left: the compensated saga removed the one it had made.
            Assert.Single(services.Simulator.State.Accounts);
        }
        finally
        {
            await queues.DeleteAsync();
        }
    }

    private static object Doctor(string name) =>
        new { email = $"{name}-{Guid.NewGuid():N}@example.org", password = "s3cret-pass", fullName = name, dob = "1815-12-10", profile = new { degree = "MD" } };

    private static Task<DashboardServer> StartServerAsync(DoctorQueues queues) =>
        DashboardServer.StartAsync(extra: new Dictionary<string, string?>
        {
            ["Baton__Apps__DoctorOnboarding__Enabled"] = "true",
            ["Baton__Apps__DoctorOnboarding__Queue"] = queues.Orchestrator,
            ["ACCOUNTS_SERVICE_CLIENT_OPTIONS"] = JsonSerializer.Serialize(new { queue = queues.Accounts }),
            ["PROVIDER_DIRECTORY_CLIENT_OPTIONS"] = JsonSerializer.Serialize(new { queue = queues.Directory }),
            ["RABBITMQ_URL"] = queues.Rabbit,
            ["REDIS_URL"] = queues.Redis.StartsWith("redis://", StringComparison.Ordinal) ? queues.Redis : "redis://" + queues.Redis,
        });

    /// <summary>The API gateway's side: a NestJS client of the orchestrator's queue.</summary>
    private static ServiceProvider GatewayFor(DoctorQueues queues)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddBaton().AddRabbitMq(queues.Rabbit).AddNestClient("gateway", queues.Orchestrator, o => o.DeclareQueue = true);
        return services.BuildServiceProvider();
    }

    // One saga row: its run id, saga state, status and the ↩ mark when the saga compensated.
    [GeneratedRegex("<tr data-saga=\"(?<id>[^\"]+)\" data-saga-state=\"(?<state>[a-z_]+)\">.*?status-[a-z_]+\">(?<status>[a-z_]+)</span>\\s*(?:<span class=\"compensated\">(?<mark>[^<]*)</span>)?</td>")]
    private static partial Regex SagaRow();

    /// <summary>Queues of this test's own on the shared RabbitMQ, and the servers the test needs (a clear failure when absent).</summary>
    private sealed class DoctorQueues
    {
        private readonly string _suffix = Guid.NewGuid().ToString("N")[..12];

        public string Rabbit { get; } = Environment.GetEnvironmentVariable("BATON_RABBITMQ") is { Length: > 0 } r ? r
            : throw new InvalidOperationException("BATON_RABBITMQ is not set: this test needs RabbitMQ (scripts/test.sh starts one and sets it).");

        public string Redis { get; } = Environment.GetEnvironmentVariable("BATON_REDIS") is { Length: > 0 } d ? d
            : throw new InvalidOperationException("BATON_REDIS is not set: this test needs Redis (scripts/test.sh starts one and sets it).");

        public string Orchestrator => $"ui_orchestrator_{_suffix}";

        public string Accounts => $"ui_accounts_{_suffix}";

        public string Directory => $"ui_directory_{_suffix}";

        public async Task DeleteAsync()
        {
            var factory = new ConnectionFactory { Uri = new Uri(Rabbit) };
            await using var connection = await factory.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            foreach (var queue in new[] { Orchestrator, Accounts, Directory })
            {
                await channel.QueueDeleteAsync(queue);
            }
        }
    }
}
