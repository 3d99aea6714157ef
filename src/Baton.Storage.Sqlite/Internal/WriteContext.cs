using Microsoft.Data.Sqlite;

namespace Baton.Storage.Sqlite.Internal;

/// <summary>
/// The writer connection as one operation sees it: caches of prepared commands and statements keyed by
/// their SQL text, so hot statements are parsed once per store, and the writer's transaction statements.
/// </summary>
/// <remarks>
/// Transactions are plain <c>BEGIN IMMEDIATE</c> / <c>COMMIT</c> / <c>ROLLBACK</c> statements from the same
/// cache rather than <see cref="SqliteTransaction"/>, which prepares <c>PRAGMA read_uncommitted</c>,
/// <c>BEGIN IMMEDIATE</c> and <c>COMMIT</c> anew for every group commit (about 1 % of the gateway's CPU in
/// SQLite's parser). The connection belongs to the writer alone, so nothing else sees it mid-transaction.
/// </remarks>
internal sealed class WriteContext : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private const int MaxByReference = 64;

    private readonly Dictionary<string, SqliteStatement> _statements = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SqliteStatement> _byReference = new(ReferenceEqualityComparer.Instance);

    public WriteContext(SqliteConnection connection) => Connection = connection;

    public SqliteConnection Connection { get; }

    /// <summary>
    /// The cached command for <paramref name="sql"/> with every parameter unset. Its parameter objects stay and
    /// <see cref="SqliteCommandExtensions.With(SqliteCommand, string, object?)"/> sets their values, so a hot
    /// statement allocates no new parameters; one left unset fails the statement, as a missing one would.
    /// </summary>
    public SqliteCommand Command(string sql)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            _commands.Add(sql, command);
        }

        var parameters = command.Parameters;
        for (var i = 0; i < parameters.Count; i++)
        {
            parameters[i].Value = null;
        }

        return command;
    }

    /// <summary>
    /// The cached <see cref="SqliteStatement"/> for <paramref name="sql"/>: for the statements every run executes,
    /// which write or read one integer. Each execution needs every parameter set anew.
    /// </summary>
    public SqliteStatement Statement(string sql)
    {
        // The hot statements are static fields: found by reference, without hashing and comparing their whole text on the
        // writer's thread for each execution (about 1 % of the gateway's server CPU in a perf profile of its live phase).
        if (_byReference.TryGetValue(sql, out var statement))
        {
            return statement;
        }

        if (!_statements.TryGetValue(sql, out statement))
        {
            statement = new SqliteStatement(Connection, sql);
            _statements.Add(sql, statement);
        }

        // Bounded, so a caller that builds its text anew each time cannot grow it.
        if (_byReference.Count < MaxByReference)
        {
            _byReference[sql] = statement;
        }

        return statement;
    }

    /// <summary>Starts a write transaction (takes the database's write lock at once).</summary>
    public void Begin() => Command("BEGIN IMMEDIATE").ExecuteNonQuery();

    public void Commit() => Command("COMMIT").ExecuteNonQuery();

    /// <summary>Rolls back the open transaction, if there is one (a failed BEGIN leaves none; a failed COMMIT may leave it open).</summary>
    public void Rollback()
    {
        if (SQLitePCL.raw.sqlite3_get_autocommit(Connection.Handle) == 0)
        {
            Command("ROLLBACK").ExecuteNonQuery();
        }
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
        foreach (var statement in _statements.Values)
        {
            statement.Dispose();
        }

        _statements.Clear();
        _byReference.Clear();
    }
}

internal static class SqliteCommandExtensions
{
    /// <summary>Sets parameter <paramref name="name"/> (null binds SQL NULL), adding it the first time.</summary>
    public static SqliteCommand With(this SqliteCommand command, string name, object? value)
    {
        var parameters = command.Parameters;
        var index = parameters.IndexOf(name);
        if (index >= 0)
        {
            parameters[index].Value = value ?? DBNull.Value;
        }
        else
        {
            parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    public static SqliteCommand With(this SqliteCommand command, string name, DateTimeOffset? value) =>
        command.With(name, value.HasValue ? value.Value.ToUnixTimeMilliseconds() : null);

    public static SqliteCommand With(this SqliteCommand command, string name, DateTimeOffset value) =>
        command.With(name, (object)value.ToUnixTimeMilliseconds());
}
