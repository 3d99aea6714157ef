using System.Net;
using System.Text.Json;
using Baton.Dashboard.Tests.Infrastructure;
using RabbitMQ.Client;

namespace Baton.Dashboard.Tests.Access;

/// <summary>The doctor onboarding page over plain HTTP against the real server with the app on the shared RabbitMQ (queues of its own) and Redis.</summary>
public sealed class DoctorOnboardingPageTests
{
    [Fact]
    public async Task DoctorOnboardingPage_AppEnabled_ShowsCacheCountersAndSagaTable()
    {
        var rabbit = Environment.GetEnvironmentVariable("BATON_RABBITMQ") is { Length: > 0 } r ? r
            : throw new InvalidOperationException("BATON_RABBITMQ is not set: this test needs RabbitMQ (scripts/test.sh starts one and sets it).");
        var redis = Environment.GetEnvironmentVariable("BATON_REDIS") is { Length: > 0 } d ? d
            : throw new InvalidOperationException("BATON_REDIS is not set: this test needs Redis (scripts/test.sh starts one and sets it).");
        var suffix = Guid.NewGuid().ToString("N")[..12];
        string[] queues = [$"ui_orchestrator_{suffix}", $"ui_accounts_{suffix}", $"ui_directory_{suffix}"];
        try
        {
            await using var server = await DashboardServer.StartAsync(extra: new Dictionary<string, string?>
            {
                ["Baton__Apps__DoctorOnboarding__Enabled"] = "true",
                ["Baton__Apps__DoctorOnboarding__Queue"] = queues[0],
                ["ACCOUNTS_SERVICE_CLIENT_OPTIONS"] = JsonSerializer.Serialize(new { queue = queues[1] }),
                ["PROVIDER_DIRECTORY_CLIENT_OPTIONS"] = JsonSerializer.Serialize(new { queue = queues[2] }),
                ["RABBITMQ_URL"] = rabbit,
                ["REDIS_URL"] = redis.StartsWith("redis://", StringComparison.Ordinal) ? redis : "redis://" + redis,
            });
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
            var factory = new ConnectionFactory { Uri = new Uri(rabbit) };
            await using var connection = await factory.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            foreach (var queue in queues)
            {
                await channel.QueueDeleteAsync(queue);
            }
        }
    }

}
