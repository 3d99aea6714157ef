using Baton.Server.Http;
using Baton.Server.Logging;

namespace Baton.Server.Tests.Logging;

public sealed class RedactionTests
{
    [Theory]
    [InlineData("?key=s3cret", "?key=***")]
    [InlineData("?a=1&key=s3cret&b=2", "?a=1&key=***&b=2")]
    [InlineData("?KEY=s3cret", "?KEY=***")]
    [InlineData("?k%65y=s3cret", "?k%65y=***")]
    [InlineData("?key=a&key=b", "?key=***&key=***")]
    [InlineData("?keys=visible", "?keys=visible")]
    [InlineData("?token=s3cret", "?token=***")]
    [InlineData("", "")]
    [InlineData(null, "")]
    public void RedactQuery_SecretParameters_AreMasked(string? query, string expected) =>
        Assert.Equal(expected, Redaction.RedactQuery(query));

    [Theory]
    [InlineData("abc-123", true)]
    [InlineData("", false)]
    [InlineData("has space", false)]
    [InlineData("line\nbreak", false)]
    public void IsAcceptable_CorrelationId_AllowsVisibleAsciiOnly(string id, bool expected) =>
        Assert.Equal(expected, RequestCorrelation.IsAcceptable(id));

    [Fact]
    public void IsAcceptable_OverlongCorrelationId_IsReplaced() =>
        Assert.False(RequestCorrelation.IsAcceptable(new string('a', 129)));
}
