using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Baton.Storage.Sqlite.Internal;

/// <summary>
/// One prepared statement of the writer, driven through SQLitePCL directly: for the statements every run
/// executes (create, step ended, run updated). Parameters are bound by index from a map made once, text
/// as UTF-16 spans and numbers unboxed, so executing allocates nothing. Through <see cref="SqliteCommand"/>
/// each execution looked every parameter up by name (a UTF-8 copy of the name) and copied every string to
/// UTF-8 first: 60 % of the gateway's store time for a create.
/// </summary>
/// <remarks>
/// Every parameter must be set before each execution, as <see cref="SqliteCommand"/> requires; an unset one
/// throws rather than binding NULL. Errors are <see cref="SqliteException"/> with SQLite's message and codes.
/// Only for statements that write, or read one integer (<see cref="ExecuteScalarInt64"/>); rows are read
/// through <see cref="SqliteCommand"/>.
/// </remarks>
internal sealed class SqliteStatement : IDisposable
{
    private const int SqlitePreparePersistent = 0x01;

    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _stmt;
    private readonly Dictionary<string, int> _indexes = new(StringComparer.Ordinal);
    private readonly bool[] _set;

    // The name each parameter was last set by, by reference: callers pass literals, so after the first execution a
    // parameter is found by comparing references rather than by hashing and comparing its name (the name lookup was
    // about 1 % of the gateway's server CPU in a perf profile of its live phase, 2026-12-07).
    private readonly string?[] _names;

    public SqliteStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        var rc = raw.sqlite3_prepare_v3(_db, sql, SqlitePreparePersistent, out _stmt, out string tail);
        if (rc != raw.SQLITE_OK)
        {
            throw Error(rc);
        }

        if (!string.IsNullOrWhiteSpace(tail))
        {
            _stmt.Dispose();
            throw new ArgumentException("Only one SQL statement can be prepared at a time.", nameof(sql));
        }

        var count = raw.sqlite3_bind_parameter_count(_stmt);
        _set = new bool[count];
        _names = new string?[count];
        for (var i = 1; i <= count; i++)
        {
            _indexes.Add(raw.sqlite3_bind_parameter_name(_stmt, i).utf8_to_string(), i);
        }
    }

    public SqliteStatement With(string name, string? value)
    {
        var index = Index(name);
        Check(value is null ? raw.sqlite3_bind_null(_stmt, index) : raw.sqlite3_bind_text16(_stmt, index, value.AsSpan()));
        return this;
    }

    public SqliteStatement With(string name, long? value)
    {
        var index = Index(name);
        Check(value is { } v ? raw.sqlite3_bind_int64(_stmt, index, v) : raw.sqlite3_bind_null(_stmt, index));
        return this;
    }

    /// <summary>A time as Unix milliseconds, as every time column of the store is kept.</summary>
    public SqliteStatement With(string name, DateTimeOffset? value) => With(name, value?.ToUnixTimeMilliseconds());

    public SqliteStatement With(string name, bool value) => With(name, value ? 1L : 0L);

    /// <summary>Runs the statement to its end; returns the rows it changed.</summary>
    public int ExecuteNonQuery()
    {
        EnsureAllSet();
        try
        {
            int rc;
            while ((rc = raw.sqlite3_step(_stmt)) == raw.SQLITE_ROW)
            {
            }

            if (rc != raw.SQLITE_DONE)
            {
                throw Error(rc);
            }

            return raw.sqlite3_changes(_db);
        }
        finally
        {
            Reset();
        }
    }

    /// <summary>The first column of the first row as an integer; null when there is no row or the value is NULL.</summary>
    public long? ExecuteScalarInt64()
    {
        EnsureAllSet();
        try
        {
            var rc = raw.sqlite3_step(_stmt);
            if (rc == raw.SQLITE_DONE)
            {
                return null;
            }

            if (rc != raw.SQLITE_ROW)
            {
                throw Error(rc);
            }

            return raw.sqlite3_column_type(_stmt, 0) == raw.SQLITE_NULL ? null : raw.sqlite3_column_int64(_stmt, 0);
        }
        finally
        {
            Reset();
        }
    }

    public void Dispose() => _stmt.Dispose();

    private int Index(string name)
    {
        var names = _names;
        for (var i = 0; i < names.Length; i++)
        {
            if (ReferenceEquals(names[i], name))
            {
                _set[i] = true;
                return i + 1;
            }
        }

        if (!_indexes.TryGetValue(name, out var index))
        {
            throw new ArgumentException($"The statement has no parameter {name}.", nameof(name));
        }

        names[index - 1] = name;
        _set[index - 1] = true;
        return index;
    }

    private void EnsureAllSet()
    {
        var unset = Array.IndexOf(_set, false);
        if (unset >= 0)
        {
            var name = raw.sqlite3_bind_parameter_name(_stmt, unset + 1).utf8_to_string();
            Reset();
            throw new InvalidOperationException($"Parameter {name} was not set.");
        }
    }

    private void Reset()
    {
        raw.sqlite3_reset(_stmt);
        raw.sqlite3_clear_bindings(_stmt);
        Array.Clear(_set);
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            throw Error(rc);
        }
    }

    private SqliteException Error(int rc) =>
        new(raw.sqlite3_errmsg(_db).utf8_to_string(), rc, raw.sqlite3_extended_errcode(_db));
}
