using Baton.Storage.Sqlite.Internal;
using Microsoft.Data.Sqlite;

namespace Baton.Storage.Sqlite.Tests;

public sealed class SqliteStatementTests : IDisposable
{
    private const string Insert = "INSERT INTO t (k, s, n, at, flag) VALUES ($k, $s, $n, $at, $flag)";
    private readonly SqliteConnection _connection = new("Data Source=:memory:");
    private readonly WriteContext _context;

    public SqliteStatementTests()
    {
        _connection.Open();
        using (var create = _connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE t (k TEXT NOT NULL PRIMARY KEY, s TEXT, n INTEGER, at INTEGER, flag INTEGER NOT NULL)";
            create.ExecuteNonQuery();
        }

        _context = new WriteContext(_connection);
    }

    public void Dispose()
    {
        _context.Dispose();
        _connection.Dispose();
    }

    [Fact]
    public void Execute_BindsEveryKind_AndTheValuesReadBackExactly()
    {
        var at = new DateTimeOffset(2026, 11, 30, 12, 0, 0, 250, TimeSpan.Zero);

        var changed = Insert1("a", "Zürich — 東京 🚀", 42, at, true);
        Insert1("b", null, null, null, false);

        Assert.Equal(1, changed);
        Assert.Equal(["Zürich — 東京 🚀", "42", at.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture), "1"], Row("a"));
        Assert.Equal(["null", "null", "null", "0"], Row("b"));
    }

    [Fact]
    public void Execute_EmptyText_IsStoredAsEmptyTextNotNull()
    {
        Insert1("empty", "", 0, null, false);

        Assert.Equal(["", "0", "null", "0"], Row("empty"));
        Assert.Equal(1L, Scalar("SELECT COUNT(*) FROM t WHERE s = ''"));
    }

    [Fact]
    public void Execute_Reused_TakesOnlyTheNewValues()
    {
        for (var i = 0; i < 3; i++)
        {
            Insert1($"k{i}", $"s{i}", i, null, i % 2 == 0);
        }

        Assert.Equal(["s2", "2", "null", "1"], Row("k2"));
        Assert.Equal(3L, Scalar("SELECT COUNT(*) FROM t"));
    }

    [Fact]
    public void Execute_ParameterLeftUnset_ThrowsAndWritesNothing_ThenWorksAgain()
    {
        Insert1("first", "x", 1, null, true);

        var error = Assert.Throws<InvalidOperationException>(() =>
            _context.Statement(Insert).With("$k", "second").With("$s", "y").With("$n", 2).With("$flag", false).ExecuteNonQuery());

        Assert.Contains("$at", error.Message, StringComparison.Ordinal);
        Assert.Equal(1L, Scalar("SELECT COUNT(*) FROM t"));
        Insert1("third", "z", 3, null, false);
        Assert.Equal(2L, Scalar("SELECT COUNT(*) FROM t"));
    }

    [Fact]
    public void Execute_ConstraintViolation_IsASqliteExceptionWithSqlitesCode_AndTheStatementStaysUsable()
    {
        Insert1("dup", "x", 1, null, true);

        var error = Assert.Throws<SqliteException>(() => Insert1("dup", "y", 2, null, true));

        Assert.Equal(19, error.SqliteErrorCode); // SQLITE_CONSTRAINT
        Assert.Equal(1555, error.SqliteExtendedErrorCode); // SQLITE_CONSTRAINT_PRIMARYKEY
        Assert.Contains("UNIQUE", error.Message, StringComparison.Ordinal);
        Assert.Equal(["x", "1", "null", "1"], Row("dup"));
        Insert1("other", "z", 3, null, false);
        Assert.Equal(2L, Scalar("SELECT COUNT(*) FROM t"));
    }

    [Fact]
    public void Execute_NamesBuiltAtRunTime_BindTheSameParametersAsTheLiterals()
    {
        // Parameters are found by the reference of the name last used for them, then by their text: a name that is not the
        // literal (built at run time, a different string each time) binds the same parameter, before and after the literals.
        static string Name(string text) => new(text.AsSpan());
        Insert1("lit", "a", 1, null, true);

        _context.Statement(Insert).With(Name("$k"), "built").With(Name("$s"), "b").With(Name("$n"), 2).With(Name("$at"), (DateTimeOffset?)null).With(Name("$flag"), false).ExecuteNonQuery();
        _context.Statement(Insert).With("$flag", true).With(Name("$at"), (DateTimeOffset?)null).With("$n", 3).With(Name("$s"), "c").With("$k", "mixed").ExecuteNonQuery();
        Insert1("lit2", "d", 4, null, false);

        Assert.Equal(["b", "2", "null", "0"], Row("built"));
        Assert.Equal(["c", "3", "null", "1"], Row("mixed"));
        Assert.Equal(["d", "4", "null", "0"], Row("lit2"));
    }

    [Fact]
    public void ExecuteScalarInt64_RowNullOrNone()
    {
        Insert1("a", "x", 7, null, true);
        const string Sql = "SELECT n FROM t WHERE k = $k";

        Assert.Equal(7L, _context.Statement(Sql).With("$k", "a").ExecuteScalarInt64());
        Assert.Null(_context.Statement(Sql).With("$k", "missing").ExecuteScalarInt64());
        Assert.Null(_context.Statement("SELECT at FROM t WHERE k = $k").With("$k", "a").ExecuteScalarInt64());
    }

    [Fact]
    public void BadUse_UnknownParameterOrTwoStatements_Throws()
    {
        Assert.Throws<ArgumentException>(() => _context.Statement(Insert).With("$nope", "x"));
        Assert.Throws<ArgumentException>(() => _context.Statement("SELECT 1; SELECT 2"));
        Assert.Throws<SqliteException>(() => _context.Statement("SELECT FROM nowhere"));
    }

    private int Insert1(string key, string? s, long? n, DateTimeOffset? at, bool flag) =>
        _context.Statement(Insert).With("$k", key).With("$s", s).With("$n", n).With("$at", at).With("$flag", flag).ExecuteNonQuery();

    private object? Scalar(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private string[] Row(string key)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT s, n, at, flag FROM t WHERE k = $k";
        command.Parameters.AddWithValue("$k", key);
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        return Enumerable.Range(0, 4).Select(i => reader.IsDBNull(i) ? "null" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)!).ToArray();
    }
}
