using System.Text.Json;
using Baton.Apps.DoctorOnboarding.Contracts;

namespace Baton.Apps.DoctorOnboarding.Tests.Contracts;

public sealed class CommandValidationTests
{
    [Theory]
    [InlineData("""{"password":"long-enough","fullName":"A B"}""", "email should not be empty")]
    [InlineData("""{"email":"a@b.org","fullName":"A B"}""", "password should not be empty")]
    [InlineData("""{"email":"a@b.org","password":"long-enough"}""", "fullName should not be empty")]
    [InlineData("""{"email":"not-an-email","password":"long-enough","fullName":"A B"}""", "email must be an email")]
    [InlineData("""{"email":"a@b.org","password":"short","fullName":"A B"}""", "password must be longer than or equal to 8 characters")]
    [InlineData("""{"email":"a@b.org","password":"long-enough","fullName":"A B","dob":"10/12/1815"}""", "dob must be a date (yyyy-MM-dd)")]
    [InlineData("""{"email":"a@b.org","password":"long-enough","fullName":42}""", "fullName must be a string")]
    [InlineData("""{"email":"a@b.org","password":"long-enough","fullName":"A B","profile":[1]}""", "profile must be an object")]
    [InlineData("""{"email":"a@b.org","password":"long-enough","fullName":"A B","permissions":"doctor"}""", "permissions must be an array of non-empty strings")]
    [InlineData("""[1,2]""", "payload must be an object")]
    public void ReadCreate_BadField_NamesIt(string json, string error)
    {
        var (command, errors) = DoctorCommandReader.ReadCreate(JsonDocument.Parse(json).RootElement);

        Assert.Null(command);
        Assert.Contains(error, errors);
    }

    [Fact]
    public void ReadCreate_AllMissing_ListsEveryRequiredField()
    {
        var (_, errors) = DoctorCommandReader.ReadCreate(JsonDocument.Parse("{}").RootElement);

        Assert.Equal(["email should not be empty", "password should not be empty", "fullName should not be empty"], errors);
        var reply = DoctorErrors.Validation(errors);
        Assert.Equal("validation failed: email should not be empty; password should not be empty; fullName should not be empty", reply.GetProperty("message").GetString());
        Assert.Equal(400, reply.GetProperty("statusCode").GetInt32());
    }

    [Fact]
    public void ReadCreate_Valid_KeepsEveryField()
    {
        var (command, errors) = DoctorCommandReader.ReadCreate(JsonDocument.Parse(
            """{"email":" ada@example.org ","password":"long-enough","fullName":"Ada","dob":"1815-12-10","profile":{"degree":"MD"},"permissions":["doctor","admin"]}""").RootElement);

        Assert.Empty(errors);
        Assert.Equal("ada@example.org", command!.Email);
        Assert.Equal("MD", command.Profile!["degree"]!.GetValue<string>());
        Assert.Equal(["doctor", "admin"], command.Permissions);
    }

    [Fact]
    public void ReadCreate_PasswordWithSpacesAtItsEnds_KeptAsTyped()
    {
        // Before: trimmed like the other strings, so the account got a password other than the one its owner signs in with.
        var (command, errors) = DoctorCommandReader.ReadCreate(JsonDocument.Parse("""{"email":"a@b.org","password":" pass phrase ","fullName":" A B "}""").RootElement);
        var (_, short1) = DoctorCommandReader.ReadCreate(JsonDocument.Parse("""{"email":"a@b.org","password":" short ","fullName":"A B"}""").RootElement);
        var (_, empty) = DoctorCommandReader.ReadCreate(JsonDocument.Parse("""{"email":"a@b.org","password":"","fullName":"A B"}""").RootElement);

        Assert.Empty(errors);
        Assert.Equal((" pass phrase ", "A B"), (command!.Password, command.FullName));
        Assert.Equal(["password must be longer than or equal to 8 characters"], short1);
        Assert.Equal(["password should not be empty"], empty);
    }

    [Fact]
    public void ReadUpdate_AccountFieldsWithSpacesAtTheirEnds_TrimmedAsTheCreateSendsThem()
    {
        var (command, errors) = UpdateDoctorCommandDto.Read(JsonDocument.Parse(
            """{"id":"a1","account":{"email":" ada@example.org ","fullName":" Ada ","password":" pass phrase ","role":" kept "}}""").RootElement);

        Assert.Empty(errors);
        Assert.Equal("ada@example.org", command!.Account!["email"]!.GetValue<string>());
        Assert.Equal("Ada", command.Account["fullName"]!.GetValue<string>());
        // The password is kept as typed, as the create's is; a field the create does not know is passed on as it came.
        Assert.Equal(" pass phrase ", command.Account["password"]!.GetValue<string>());
        Assert.Equal(" kept ", command.Account["role"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"id":"a:b","account":{}}""", "id must not contain ':', '*', '?', '[' or ']'")]
    [InlineData("""{"id":"a"}""", "account or profile must be given")]
    [InlineData("""{"id":"a","account":{"id":"b"}}""", "account and profile must not change an id")]
    // The profile's link to its doctor is an id too (before: the update moved the profile to account b).
    [InlineData("""{"id":"a","profile":{"staffAccountId":"b"}}""", "account and profile must not change an id")]
    [InlineData("""{"id":"a","profile":{"accountId":"b","degree":"MD"}}""", "account and profile must not change an id")]
    [InlineData("""{"account":{}}""", "id should not be empty")]
    [InlineData("""{"id":"a1","account":{"password":12345678}}""", "account.password must be a string")]
    [InlineData("""{"id":"a1","account":{"password":"short"}}""", "account.password must be longer than or equal to 8 characters")]
    // The create's rules (before: an update took an empty or an over-long password the create refused).
    [InlineData("""{"id":"a1","account":{"password":""}}""", "account.password should not be empty")]
    [InlineData("""{"id":"a1","account":{"password":"01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789x"}}""", "account.password must be shorter than or equal to 320 characters")]
    // The create's rules for the account fields it checks (before: an update set them to anything, null included).
    [InlineData("""{"id":"a1","account":{"email":"not-an-email"}}""", "account.email must be an email")]
    [InlineData("""{"id":"a1","account":{"email":null}}""", "account.email should not be empty")]
    [InlineData("""{"id":"a1","account":{"fullName":"  "}}""", "account.fullName should not be empty")]
    [InlineData("""{"id":"a1","account":{"dob":"10/12/1815"}}""", "account.dob must be a date (yyyy-MM-dd)")]
    [InlineData("""{"id":"a1","account":{"phone":42}}""", "account.phone must be a string")]
    public void ReadUpdate_Bad_NamesIt(string json, string error)
    {
        var (command, errors) = UpdateDoctorCommandDto.Read(JsonDocument.Parse(json).RootElement);

        Assert.Null(command);
        Assert.Contains(error, errors);
    }
}
