using Baton.Hosting;
using Baton.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Baton.RabbitMq.Tests.Client;

/// <summary>The password of the RabbitMQ URL never reaches a log line or an error message.</summary>
public sealed class SecretTests
{
    [Fact]
    public async Task BrokerUnreachable_PasswordInNoLogLineAndNoErrorMessage()
    {
        const string Password = "s3cret-Pa55word";
        var logs = new CapturingLoggerProvider();
        var directory = TestPaths.NewTempDirectory();
        var port = Ports.Free();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        services.AddBaton(o => o.RunScheduler = false)
            .UseSqlite(o => o.Path = Path.Combine(directory, "baton.db"))
            .AddRabbitMq($"amqp://guest:{Password}@127.0.0.1:{port}/")
            .AddNestClient("svc", "q")
            .AddNestServer("q");
        await using var provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().ToList();
        foreach (var service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        try
        {
            var error = await Assert.ThrowsAsync<RabbitMqUnavailableException>(
                () => provider.GetRequiredKeyedService<INestClient>("svc").SendAsync("x", null, TimeSpan.FromSeconds(10)));
            await Poll.UntilAsync(() => Task.FromResult(logs.AllText()), text => text.Contains("cannot be consumed yet", StringComparison.Ordinal), "the server's log line");

            Assert.DoesNotContain(Password, error.ToString(), StringComparison.Ordinal);
            // Shown as every other configured URL is (UrlText): before, this one masker of its own wrote amqp://guest@127.0.0.1:port/.
            Assert.Contains($"amqp://guest:***@127.0.0.1:{port}/", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Password, logs.AllText(), StringComparison.Ordinal);
        }
        finally
        {
            for (var i = hosted.Count - 1; i >= 0; i--)
            {
                await hosted[i].StopAsync(CancellationToken.None);
            }
        }
    }

    [Theory]
    [InlineData("amqp://guest:pa/ss@127.0.0.1:5672/", "pa/ss")]
    [InlineData("amqp://guest:pa#ss@127.0.0.1:5672/", "pa#ss")]
    public void AddRabbitMq_UrlThatDoesNotParseWithAPassword_ErrorShowsUserHostAndPortNotThePassword(string url, string password)
    {
        // Before: "got (invalid RabbitMQ URL)", nothing to tell which setting or host was wrong.
        var error = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddBaton().AddRabbitMq(url));

        Assert.DoesNotContain(password, error.Message, StringComparison.Ordinal);
        Assert.Contains("amqp://guest:***@127.0.0.1:5672/", error.Message, StringComparison.Ordinal);
    }
}
