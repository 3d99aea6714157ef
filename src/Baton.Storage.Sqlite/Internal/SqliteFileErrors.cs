using Microsoft.Data.Sqlite;

namespace Baton.Storage.Sqlite.Internal;

/// <summary>SQLite's result codes that say the database file or its disk is at fault, not the statement.</summary>
internal static class SqliteFileErrors
{
    /// <summary>Disk full (13), I/O error (10) or read-only database (8): writes fail until the disk is fixed, reads may not.</summary>
    public static bool IsDisk(SqliteException ex) => ex.SqliteErrorCode is 13 or 10 or 8;

    /// <summary>What is wrong with the file, for <see cref="IsDisk"/>'s codes and a file that is no database (26) or damaged (11); else null.</summary>
    public static string? Describe(SqliteException ex) => ex.SqliteErrorCode switch
    {
        26 => "the file is not a SQLite database",
        11 => "the database file is damaged; restore it from a backup",
        13 => "the disk is full",
        10 => "the disk could not be read or written",
        8 => "the file or its folder is read-only",
        _ => null,
    };
}
