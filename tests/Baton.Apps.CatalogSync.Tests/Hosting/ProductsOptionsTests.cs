using Microsoft.Extensions.Configuration;

namespace Baton.Apps.CatalogSync.Tests.Hosting;

public sealed class ProductsOptionsTests
{
    private const string StorePg = "Host=db;Username=baton;Password=secret;Database=baton";

    [Fact]
    public void ApplyDefaults_BatonStoreSqlite_CatalogInSqlite()
    {
        var options = Resolve(new() { ["Baton:Store:Provider"] = "sqlite", ["BATON_POSTGRES"] = StorePg });

        Assert.Equal(CatalogProductsProvider.Sqlite, options.Provider);
        Assert.Null(options.ConnectionString);
    }

    [Fact]
    public void ApplyDefaults_BatonStorePostgres_CatalogFollowsWithTheStoresConnectionString()
    {
        var options = Resolve(new() { ["BATON_STORE"] = "Postgres", ["BATON_POSTGRES"] = StorePg });

        Assert.Equal(CatalogProductsProvider.Postgres, options.Provider);
        Assert.Equal(StorePg, options.ConnectionString);
    }

    [Fact]
    public void ApplyDefaults_ExplicitSettings_Kept()
    {
        var options = Resolve(
            new() { ["Baton:Store:Provider"] = "postgres", ["Baton:Store:Postgres:ConnectionString"] = StorePg },
            new CatalogProductsOptions { Provider = CatalogProductsProvider.Postgres, ConnectionString = "Host=catalog;Database=catalog" });

        Assert.Equal("Host=catalog;Database=catalog", options.ConnectionString);
        Assert.Equal(CatalogProductsProvider.Sqlite, Resolve(new() { ["BATON_STORE"] = "postgres" }, new CatalogProductsOptions { Provider = CatalogProductsProvider.Sqlite }).Provider);
    }

    [Fact]
    public void Validate_PostgresWithoutConnectionString_NamesTheSetting()
    {
        var options = new CatalogSyncOptions { ApiUrl = "http://127.0.0.1:1/feed", Products = { Provider = CatalogProductsProvider.Postgres, Schema = "Bad-Schema" } };

        var result = new CatalogSyncOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Baton:Apps:CatalogSync:Products:ConnectionString is required", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Baton:Apps:CatalogSync:Products:Schema", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_PostgresPasswordHoldingAnUnquotedSemicolon_ErrorShowsNoPieceOfIt()
    {
        // Npgsql reads "Password=ab;cd=ef" as the keyword cd and names it. Before: "... Couldn't set cd (Parameter 'cd')".
        var options = new CatalogSyncOptions
        {
            ApiUrl = "http://127.0.0.1:1/feed",
            Products = { Provider = CatalogProductsProvider.Postgres, ConnectionString = "Host=127.0.0.1;Username=svc;Password=ab;cd=ef" },
        };

        var result = new CatalogSyncOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Products:ConnectionString is not a valid Npgsql connection string", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("a value holding ';' must be quoted", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("cd", result.FailureMessage, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("61 * * * *", "UTC", "Baton:Apps:CatalogSync:Schedule:")]
    [InlineData("0 2 * * *", "Mars/Olympus_Mons", "Baton:Apps:CatalogSync:Schedule:")]
    public void Validate_BadScheduleCronOrTimeZone_ReportedWithTheOtherSettings(string cron, string timeZone, string expected)
    {
        var options = new CatalogSyncOptions { ApiUrl = "http://127.0.0.1:1/feed", Schedule = { Cron = cron, TimeZone = timeZone } };

        var result = new CatalogSyncOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_BadCronWithScheduleDisabled_Accepted()
    {
        var options = new CatalogSyncOptions { ApiUrl = "http://127.0.0.1:1/feed", Schedule = { Enabled = false, Cron = "61 * * * *" } };

        Assert.False(new CatalogSyncOptionsValidator().Validate(null, options).Failed);
    }

    private static CatalogProductsOptions Resolve(Dictionary<string, string?> settings, CatalogProductsOptions? options = null)
    {
        options ??= new CatalogProductsOptions();
        options.ApplyDefaults(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        return options;
    }
}
