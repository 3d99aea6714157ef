using Baton.Scheduling;
using Baton.Server.Configuration;
using Baton.Server.Tests.Infrastructure;
using Baton.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Baton.Server.Tests.Configuration;

public sealed class ServerSettingsReaderTests
{
    private static BatonServerOptions Read(params (string Key, string Value)[] values) => Read(false, values);

    /// <summary>Binds as the server does, then validates as ValidateOnStart does; throws the validator's report.</summary>
    private static BatonServerOptions Read(bool isDevelopment, params (string Key, string Value)[] values)
    {
        var options = new BatonServerOptions();
        ServerSettingsReader.Bind(
            options,
            new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build(),
            TestPaths.NewTempDirectory(),
            isDevelopment);
        var result = new BatonServerOptionsValidator(new StartupProblems(), new DemoOnly(), [], []).Validate(null, options);
        return result.Failed ? throw new OptionsValidationException("Baton", typeof(BatonServerOptions), result.Failures) : options;
    }

    [Fact]
    public void Read_Nothing_UsesDefaults()
    {
        var options = Read();
        Assert.Equal(3003, options.Port);
        Assert.Equal("http://127.0.0.1:3003", options.ListenUrls);
        Assert.Equal(1024 * 1024, options.MaxRequestBodyBytes);
        Assert.EndsWith(Path.Combine("data", "baton.db"), options.SqlitePath, StringComparison.Ordinal);
        Assert.True(Path.IsPathRooted(options.SqlitePath));
        Assert.False(options.DemoEnabled);
        Assert.False(options.MetricsRequireAdminKey);
    }

    [Fact]
    public void Read_DemoUnset_OnInDevelopmentOnly()
    {
        Assert.True(Read(isDevelopment: true).DemoEnabled);
        Assert.False(Read(isDevelopment: false).DemoEnabled);
        Assert.False(Read(true, ("Baton:Demo:Enabled", "false")).DemoEnabled);
    }

    [Fact]
    public void Read_OrchestratorPort_IsAnAliasBatonPortOverrides()
    {
        Assert.Equal(4100, Read(("ORCHESTRATOR_PORT", "4100")).Port);
        Assert.Equal(4200, Read(("ORCHESTRATOR_PORT", "4100"), ("BATON_PORT", "4200")).Port);
    }

    [Fact]
    public void Read_HostAndUrls_ShapeTheListener()
    {
        Assert.Equal("http://0.0.0.0:3003", Read(("Baton:Host", "0.0.0.0")).ListenUrls);
        Assert.Equal("http://[::1]:3003", Read(("Baton:Host", "::1")).ListenUrls);
        Assert.Equal("http://*:8080", Read(("Baton:Urls", "http://*:8080")).ListenUrls);
    }

    [Theory]
    [InlineData("BATON_PORT", "70000", "BATON_PORT '70000' is not a port number")]
    [InlineData("BATON_PORT", "-1", "BATON_PORT '-1' is not a port number")]
    [InlineData("ORCHESTRATOR_PORT", "http", "ORCHESTRATOR_PORT 'http' is not a port number")]
    [InlineData("Baton:MaxRequestBodyBytes", "0", "Baton:MaxRequestBodyBytes '0' must be a whole number")]
    [InlineData("Baton:Urls", "ftp://x", "must start with http:// or https://")]
    [InlineData("Baton:Metrics:RequireAdminKey", "yes", "must be true or false")]
    [InlineData("Baton:ShutdownMargin", "soon", "must be a non-negative time span")]
    [InlineData("Baton:RequestTimeout", "10", "Baton:RequestTimeout '10' must be a time span from 00:00:01 to 01:00:00 (hh:mm:ss); it was read as 10.00:00:00")]
    [InlineData("Baton:RequestTimeout", "0", "Baton:RequestTimeout '0' must be a time span from 00:00:01 to 01:00:00")]
    public void Read_BadSetting_NamesIt(string key, string value, string expected)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Read((key, value)));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_PostgresProvider_TakesConnectionStringFromEnvAndCreatesNoSqliteFile()
    {
        var options = Read(("BATON_STORE", "postgres"), ("BATON_POSTGRES", "Host=127.0.0.1;Password=secret"), ("Baton:Store:Postgres:Schema", "nodes"));

        Assert.Equal(StoreProvider.Postgres, options.Store);
        Assert.Equal("Host=127.0.0.1;Password=secret", options.PostgresConnectionString);
        Assert.Null(options.SqlitePath);
        Assert.Equal("postgres (schema nodes)", options.StoreDescription);
        Assert.DoesNotContain("secret", options.StoreDescription, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_PostgresWriterConnections_TakenFromConfigurationDefaultOne()
    {
        var configured = Read(("BATON_STORE", "postgres"), ("BATON_POSTGRES", "Host=127.0.0.1"), ("Baton:Store:Postgres:WriterConnections", "2"));
        var unset = Read(("BATON_STORE", "postgres"), ("BATON_POSTGRES", "Host=127.0.0.1"));

        Assert.Equal(2, configured.PostgresWriterConnections);
        Assert.Equal(1, unset.PostgresWriterConnections);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("17")]
    [InlineData("two")]
    public void Read_PostgresWriterConnectionsOutOfRange_NamesTheRange(string value)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Read(("BATON_STORE", "postgres"), ("BATON_POSTGRES", "Host=127.0.0.1"), ("Baton:Store:Postgres:WriterConnections", value)));

        Assert.Contains($"Baton:Store:Postgres:WriterConnections '{value}' must be a whole number from 1 to 16", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("BATON_STORE", "mysql", "must be sqlite or postgres")]
    [InlineData("Baton:Store:Provider", "1", "must be sqlite or postgres")]
    [InlineData("BATON_STORE", "postgres", "set BATON_POSTGRES")]
    public void Read_BadStoreProvider_NamesIt(string key, string value, string expected)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Read((key, value)));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_StorePathIsADirectory_Fails()
    {
        var directory = TestPaths.NewTempDirectory();
        var error = Assert.Throws<OptionsValidationException>(() => Read(("Baton:Store:Sqlite:Path", directory)));
        Assert.Contains("is a directory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_StorePathUnderAFile_Fails()
    {
        var file = Path.Combine(TestPaths.NewTempDirectory(), "plain-file");
        File.WriteAllText(file, "x");
        var error = Assert.Throws<OptionsValidationException>(() => Read(("Baton:Store:Sqlite:Path", Path.Combine(file, "baton.db"))));
        Assert.Contains("cannot create its directory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_DataProtectionKeysPath_UnsetIsNullRelativeResolvesAgainstContentRoot()
    {
        Assert.Null(Read().DataProtectionKeysPath);

        var relative = Read(("Baton:DataProtection:KeysPath", "shared/keys")).DataProtectionKeysPath;
        var absolute = Path.Combine(TestPaths.NewTempDirectory(), "keys");

        Assert.NotNull(relative);
        Assert.True(Path.IsPathRooted(relative));
        Assert.EndsWith($"{Path.DirectorySeparatorChar}shared{Path.DirectorySeparatorChar}keys", relative, StringComparison.Ordinal);
        Assert.Equal(absolute, Read(("Baton:DataProtection:KeysPath", absolute)).DataProtectionKeysPath);
    }

    [Fact]
    public void Read_DataProtectionKeysPathIsAFile_FailsNamingTheSetting()
    {
        var file = Path.Combine(TestPaths.NewTempDirectory(), "plain-file");
        File.WriteAllText(file, "x");

        var error = Assert.Throws<OptionsValidationException>(() => Read(("Baton:DataProtection:KeysPath", file)));

        Assert.Contains($"Baton:DataProtection:KeysPath '{file}' is a file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_ConfiguredSchedules_AreParsed()
    {
        var options = Read(
            ("Baton:Schedules:nightly:Workflow", "demo"),
            ("Baton:Schedules:nightly:Cron", "0 2 * * *"),
            ("Baton:Schedules:nightly:TimeZone", "Europe/Brussels"),
            ("Baton:Schedules:nightly:Input", "{\"items\":3}"),
            ("Baton:Schedules:nightly:Misfire", "run_once"));
        var schedule = Assert.Single(options.Schedules);
        Assert.Equal(new ConfiguredSchedule("nightly", "demo", "0 2 * * *", "Europe/Brussels", "{\"items\":3}", true, MisfirePolicy.RunOnce), schedule);
    }

    [Fact]
    public void Read_BadSchedules_ListsEveryProblem()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Read(
            ("Baton:Schedules:a:Workflow", "demo"),
            ("Baton:Schedules:a:Cron", "61 * * * *"),
            ("Baton:Schedules:b:Workflow", "demo"),
            ("Baton:Schedules:b:Cron", "* * * * *"),
            ("Baton:Schedules:b:TimeZone", "Mars/Olympus"),
            ("Baton:Schedules:c:Cron", "* * * * *"),
            ("Baton:Schedules:c:Input", "{not json")));
        Assert.Contains("Baton:Schedules:a: cron expression '61 * * * *' is not valid", error.Message, StringComparison.Ordinal);
        Assert.Contains("Baton:Schedules:b: time zone 'Mars/Olympus' is not known", error.Message, StringComparison.Ordinal);
        Assert.Contains("Baton:Schedules:c:Workflow is required", error.Message, StringComparison.Ordinal);
        Assert.Contains("Baton:Schedules:c:Input is not JSON text", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_EnabledApps_AreCollected()
    {
        var options = Read(("Baton:Apps:CatalogSync:Enabled", "true"), ("Baton:Apps:Other:Enabled", "false"));
        Assert.Equal(["CatalogSync"], options.EnabledApps);
    }

    /// <summary>The workflows the schedules here name: the demo workflow alone.</summary>
    private sealed class DemoOnly : Baton.Workflows.IWorkflowCatalog
    {
        private static readonly Baton.Workflows.WorkflowDescriptor Demo = new("demo", typeof(object), typeof(object), null, null);

        public IReadOnlyCollection<Baton.Workflows.WorkflowDescriptor> Workflows => [Demo];

        public bool TryGet(string name, out Baton.Workflows.WorkflowDescriptor descriptor)
        {
            descriptor = Demo;
            return name == "demo";
        }
    }
}
