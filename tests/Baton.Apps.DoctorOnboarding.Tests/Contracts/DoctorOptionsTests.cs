using Microsoft.Extensions.Configuration;

namespace Baton.Apps.DoctorOnboarding.Tests.Contracts;

public sealed class DoctorOptionsTests
{
    [Fact]
    public void Read_SeedVariables_SetsQueuesUrlsAndPort()
    {
        var options = DoctorOptions.Read(Config(new()
        {
            ["RABBITMQ_URL"] = "amqp://user:pw@mq:5672/vh",
            ["REDIS_URL"] = "redis://:pw@cache:6380/2",
            ["ACCOUNTS_SERVICE_CLIENT_OPTIONS"] = """{"urls":["amqp://mq"],"queue":"accounts_q","queueOptions":{"durable":true}}""",
            ["PROVIDER_DIRECTORY_CLIENT_OPTIONS"] = """{"transport":5,"options":{"queue":"directory_q"}}""",
            ["Baton:Apps:DoctorOnboarding:Patterns:AccountsAssignPermissions"] = "staff-accounts.assignRole",
        }));

        Assert.Empty(options.BindingErrors);
        Assert.Equal("amqp://user:pw@mq:5672/vh", options.RabbitMqUrl);
        Assert.Equal("accounts_q", options.AccountsQueue);
        Assert.Equal("directory_q", options.ProviderDirectoryQueue);
        Assert.Equal("staff-accounts.assignRole", options.Patterns.AccountsAssignPermissions);
        Assert.Equal("doctor-accounts.create", options.Patterns.AccountsCreate);
    }

    [Fact]
    public void Read_BadValues_ListsEachWithoutSecrets()
    {
        var options = DoctorOptions.Read(Config(new()
        {
            ["RABBITMQ_URL"] = "http://user:topsecret@mq",
            ["ACCOUNTS_SERVICE_CLIENT_OPTIONS"] = "{not json",
            ["PROVIDER_DIRECTORY_CLIENT_OPTIONS"] = """{"urls":[]}""",
            ["Baton:Apps:DoctorOnboarding:SagaTimeout"] = "soon",
        }));

        Assert.Equal(4, options.BindingErrors.Count);
        Assert.DoesNotContain(options.BindingErrors, e => e.Contains("topsecret", StringComparison.Ordinal));
        Assert.Equal("accounts_queue", options.AccountsQueue);
    }

    [Fact]
    public void Read_PatternsMisspeltOrNotText_EachNamedAtOnce_TheOthersSet()
    {
        // Bound, a misspelt pattern was skipped without a word (the default was sent, and no service answered it), and a
        // pattern given as a section stopped the binder at the first error.
        var options = DoctorOptions.Read(Config(new()
        {
            ["Baton:Apps:DoctorOnboarding:Patterns:AcountsCreate"] = "staff-accounts.create",
            ["Baton:Apps:DoctorOnboarding:Patterns:ProfileRemove:Name"] = "x",
            ["Baton:Apps:DoctorOnboarding:Patterns:ProfileUpdate"] = " ",
            ["Baton:Apps:DoctorOnboarding:Patterns:accountsfindone"] = "staff-accounts.findOne",
        }));

        Assert.Equal(3, options.BindingErrors.Count);
        Assert.Contains(options.BindingErrors, e => e.StartsWith("Baton:Apps:DoctorOnboarding:Patterns:AcountsCreate is not a pattern of this app", StringComparison.Ordinal)
            && e.Contains("AccountsCreate", StringComparison.Ordinal));
        Assert.Contains(options.BindingErrors, e => e.StartsWith("Baton:Apps:DoctorOnboarding:Patterns:ProfileRemove must be a text", StringComparison.Ordinal));
        Assert.Contains(options.BindingErrors, e => e == "Baton:Apps:DoctorOnboarding:Patterns:ProfileUpdate must not be empty");
        // A key in another case names the same setting, as configuration keys do.
        Assert.Equal("staff-accounts.findOne", options.Patterns.AccountsFindOne);
        Assert.Equal("doctor-accounts.create", options.Patterns.AccountsCreate);
    }

    private static IConfiguration Config(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
