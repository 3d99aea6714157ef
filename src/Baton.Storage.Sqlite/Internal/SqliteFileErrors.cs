using Microsoft.Data.Sqlite;
using static SQLitePCL.raw;

namespace Baton.Storage.Sqlite.Internal;

/// <summary>SQLite's result codes that say the database file or its disk is at fault, not the statement.</summary>
internal static class SqliteFileErrors
{
    /// <summary>Disk full (13), I/O error (10) or read-only database (8): writes fail until the disk is fixed, reads may not.</summary>
    public static bool IsDisk(SqliteException ex) => ex.SqliteErrorCode is SQLITE_FULL or SQLITE_IOERR or SQLITE_READONLY;

    /// <summary>Database is locked (5) or a table is locked (6): another connection held the lock past the busy timeout.</summary>
    public static bool IsLocked(SqliteException ex) => ex.SqliteErrorCode is SQLITE_BUSY or SQLITE_LOCKED;

    /// <summary>What is wrong with the file, for <see cref="IsDisk"/>'s codes and a file that is no database (26) or damaged (11); else null.</summary>
    public static string? Describe(SqliteException ex) => ex.SqliteErrorCode switch
    {
        SQLITE_NOTADB => "the file is not a SQLite database",
        SQLITE_CORRUPT => "the database file is damaged; restore it from a backup",
        SQLITE_FULL => "the disk is full",
        SQLITE_IOERR => "the disk could not be read or written",
        SQLITE_READONLY => "the file or its folder is read-only",
        _ => null,
    };
}
