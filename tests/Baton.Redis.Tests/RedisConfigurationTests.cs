using System.Net;

namespace Baton.Redis.Tests;

public sealed class RedisConfigurationTests
{
    [Fact]
    public void Parse_UrlWithPasswordPortAndDatabase_AllRead()
    {
        var options = RedisConfiguration.Parse("redis://:p%40ss@cache.local:6380/2");

        var endpoint = Assert.IsType<DnsEndPoint>(Assert.Single(options.EndPoints));
        Assert.Equal(("cache.local", 6380), (endpoint.Host, endpoint.Port));
        Assert.Equal("p@ss", options.Password);
        Assert.Null(options.User);
        Assert.Equal(2, options.DefaultDatabase);
        Assert.False(options.Ssl);
        Assert.False(options.AbortOnConnectFail);
        Assert.Equal("cache.local:6380/2", RedisConfiguration.Describe(options));
    }

    [Fact]
    public void Parse_SeedDefaultUrl_Port6379NoPassword()
    {
        var options = RedisConfiguration.Parse("redis://localhost:6379");

        var endpoint = Assert.IsType<DnsEndPoint>(Assert.Single(options.EndPoints));
        Assert.Equal(("localhost", 6379), (endpoint.Host, endpoint.Port));
        Assert.Null(options.Password);
        Assert.Null(options.DefaultDatabase);
    }

    [Fact]
    public void Parse_RedissWithUser_TlsOnAndUserRead()
    {
        var options = RedisConfiguration.Parse("rediss://app:secret@redis.example.com");

        Assert.True(options.Ssl);
        Assert.Equal("app", options.User);
        Assert.Equal("secret", options.Password);
        Assert.Equal(6379, Assert.IsType<DnsEndPoint>(Assert.Single(options.EndPoints)).Port);
        Assert.DoesNotContain("secret", RedisConfiguration.Describe(options), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_StackExchangeForm_PasswordKeptOutOfDescription()
    {
        var options = RedisConfiguration.Parse("127.0.0.1:6379,password=hunter2,defaultDatabase=1");

        Assert.Equal("hunter2", options.Password);
        Assert.Equal("127.0.0.1:6379/1", RedisConfiguration.Describe(options));
    }

    [Theory]
    [InlineData("")]
    [InlineData("redis://:hunter2@/")]
    [InlineData("redis://:hunter2@host:6379/notanumber")]
    [InlineData("http://:hunter2@host:6379")]
    public void Parse_Invalid_ArgumentExceptionWithoutPassword(string configuration)
    {
        var error = Assert.Throws<ArgumentException>(() => RedisConfiguration.Parse(configuration));

        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }
}
