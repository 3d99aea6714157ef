using Baton.Workers;

namespace Baton.Core.Tests.Workers;

public sealed class LogScopeTests
{
    [Fact]
    public void LogScope_NamedValues_AreItsPairsAndItsText()
    {
        var scope = new LogScope(KeyValuePair.Create("RunId", (object?)"r-1"), KeyValuePair.Create("CorrelationId", (object?)null));

        Assert.Equal([KeyValuePair.Create("RunId", (object?)"r-1"), KeyValuePair.Create("CorrelationId", (object?)null)], scope);
        Assert.Equal(2, scope.Count);
        Assert.Equal("RunId", scope[0].Key);
        // The JSON console formatter writes this as the scope's Message (a Dictionary wrote its type name).
        Assert.Equal("RunId:r-1 CorrelationId:", scope.ToString());
    }
}
