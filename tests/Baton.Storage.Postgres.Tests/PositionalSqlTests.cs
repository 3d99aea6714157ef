using Baton.Storage.Postgres.Internal;
using Npgsql;
using NpgsqlTypes;

namespace Baton.Storage.Postgres.Tests;

/// <summary>Named parameters become positional once per statement; literals, identifiers and comments stay as they are.</summary>
public sealed class PositionalSqlTests
{
    [Fact]
    public void Rewrite_RepeatedNamesAndCasts_NumberedInOrderOfFirstUse()
    {
        var rewritten = PositionalSql.Rewrite("SELECT * FROM t WHERE a = @owner AND b <= @now AND c = ANY(@ids::text[]) AND d > @now");

        Assert.Equal("SELECT * FROM t WHERE a = $1 AND b <= $2 AND c = ANY($3::text[]) AND d > $2", rewritten.Sql);
        Assert.Equal(["owner", "now", "ids"], rewritten.Names);
    }

    [Fact]
    public void Rewrite_AtSignsInLiteralsIdentifiersAndComments_LeftAlone()
    {
        const string Sql = """
            SELECT '@not', "@col", pg_notify(@channel, '') -- @comment
            FROM "s".t /* @block */ WHERE x = 'it''s @x' AND y = @y
            """;

        var rewritten = PositionalSql.Rewrite(Sql);

        Assert.Equal("""
            SELECT '@not', "@col", pg_notify($1, '') -- @comment
            FROM "s".t /* @block */ WHERE x = 'it''s @x' AND y = $2
            """, rewritten.Sql);
        Assert.Equal(["channel", "y"], rewritten.Names);
    }

    [Fact]
    public void ToPositional_BatchCommand_ParametersInPlaceholderOrderUnnamedAndTyped()
    {
        var named = new NpgsqlBatchCommand("UPDATE t SET a = @a WHERE id = @id AND owner = @owner");
        named.Parameters.Add(new NpgsqlParameter("owner", NpgsqlDbType.Text) { Value = "node-a" });
        named.Parameters.Add(new NpgsqlParameter("id", NpgsqlDbType.Text) { Value = "r1" });
        named.Parameters.Add(new NpgsqlParameter("a", NpgsqlDbType.Integer) { Value = DBNull.Value });

        var positional = PositionalSql.ToPositional(named);

        Assert.Equal("UPDATE t SET a = $1 WHERE id = $2 AND owner = $3", positional.CommandText);
        Assert.Equal([DBNull.Value, (object)"r1", "node-a"], positional.Parameters.Select(p => p.Value));
        Assert.All(positional.Parameters, p => Assert.Equal("", p.ParameterName));
        Assert.Equal(NpgsqlDbType.Integer, positional.Parameters[0].NpgsqlDbType);
    }

    [Fact]
    public void MakePositional_MissingParameter_NamesIt()
    {
        using var command = new NpgsqlCommand("SELECT @a, @b");
        command.Parameters.Add(new NpgsqlParameter("a", NpgsqlDbType.Integer) { Value = 1 });

        var error = Assert.Throws<InvalidOperationException>(() => PositionalSql.MakePositional(command));

        Assert.Contains("@b", error.Message, StringComparison.Ordinal);
    }
}
