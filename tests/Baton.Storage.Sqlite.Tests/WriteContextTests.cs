using Baton.Storage.Sqlite.Internal;
using Microsoft.Data.Sqlite;

namespace Baton.Storage.Sqlite.Tests;

public sealed class WriteContextTests
{
    [Fact]
    public void Command_Reused_BindsTheNewValuesWithoutNewParameters()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        using var context = new WriteContext(connection);

        var first = context.Command("SELECT $a || '/' || COALESCE($b, 'null')").With("$a", "x").With("$b", 1L).ExecuteScalar();
        var command = context.Command("SELECT $a || '/' || COALESCE($b, 'null')");
        var parameters = command.Parameters.Cast<SqliteParameter>().ToList();
        var second = command.With("$a", "y").With("$b", null).ExecuteScalar();

        Assert.Equal("x/1", first);
        Assert.Equal("y/null", second);
        Assert.Equal(parameters, command.Parameters.Cast<SqliteParameter>());
    }

    [Fact]
    public void Command_ParameterLeftUnsetOnReuse_FailsInsteadOfBindingTheOldValue()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        using var context = new WriteContext(connection);
        context.Command("SELECT $a, $b").With("$a", 1L).With("$b", 2L).ExecuteScalar();

        var reused = context.Command("SELECT $a, $b").With("$a", 3L);

        Assert.Throws<InvalidOperationException>(() => reused.ExecuteScalar());
    }
}
