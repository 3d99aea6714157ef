using System.Text;
using System.Text.Json;
using Baton.Apps.DoctorOnboarding.Composition;

namespace Baton.Apps.DoctorOnboarding.Tests.Composition;

/// <summary>A cache hit's reply: the stored bytes with the <c>cache</c> field added, without a DOM in between.</summary>
public sealed class CacheFieldTests
{
    [Theory]
    [InlineData("""{"id":"a1","fullName":"Ann","profile":{"degree":"MD"}}""", """{"id":"a1","fullName":"Ann","profile":{"degree":"MD"},"cache":{"hit":true,"ttl":297}}""")]
    [InlineData(" {\"id\":\"a1\"}\n", """{"id":"a1","cache":{"hit":true,"ttl":297}}""")]
    [InlineData("{ }", """{ "cache":{"hit":true,"ttl":297}}""")]
    public void WithCacheField_StoredObject_AddsCacheFieldLast(string stored, string expected)
    {
        var reply = CompositeReader.WithCacheField(Encoding.UTF8.GetBytes(stored), 297);

        Assert.Equal(expected, reply.GetRawText());
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("\"text\"")]
    [InlineData("{\"id\":")]
    [InlineData("")]
    public void WithCacheField_NotAnObject_ThrowsJsonException(string stored)
    {
        Assert.ThrowsAny<JsonException>(() => CompositeReader.WithCacheField(Encoding.UTF8.GetBytes(stored), 1));
    }
}
