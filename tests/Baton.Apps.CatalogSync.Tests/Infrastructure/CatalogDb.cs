using System.Text.Json;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Baton.Apps.CatalogSync.Tests.Infrastructure;

internal sealed record ProductRow(string Id, string? Name, long MetaUpdatedAt, string Raw);

internal sealed record DeadLetterRow(string RunId, long Line, long ByteOffset, string Reason, byte[] Head);

/// <summary>Reads the catalog database the way a user would, and what a feed body should put in it.</summary>
internal static class CatalogDb
{
    public static List<ProductRow> Products(string path)
    {
        using var connection = Open(path);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, name, metaUpdatedAt, raw FROM products ORDER BY id";
        using var reader = command.ExecuteReader();
        var rows = new List<ProductRow>();
        while (reader.Read())
        {
            rows.Add(new ProductRow(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetInt64(2), reader.GetString(3)));
        }

        return rows;
    }

    public static List<DeadLetterRow> DeadLetters(string path, string? runId = null)
    {
        using var connection = Open(path);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT run_id, line, byte_offset, reason, head FROM dead_letters WHERE $run IS NULL OR run_id = $run ORDER BY line";
        command.Parameters.AddWithValue("$run", (object?)runId ?? DBNull.Value);
        using var reader = command.ExecuteReader();
        var rows = new List<DeadLetterRow>();
        while (reader.Read())
        {
            rows.Add(new DeadLetterRow(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3), (byte[])reader.GetValue(4)));
        }

        return rows;
    }

    public static List<ProductRow> PostgresProducts(string connectionString, string schema)
    {
        using var connection = OpenPostgres(connectionString);
        using var command = new NpgsqlCommand($"""SELECT id, name, "metaUpdatedAt", raw::text FROM "{schema}".products ORDER BY id COLLATE "C" """, connection);
        using var reader = command.ExecuteReader();
        var rows = new List<ProductRow>();
        while (reader.Read())
        {
            rows.Add(new ProductRow(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetInt64(2), reader.GetString(3)));
        }

        return rows;
    }

    public static List<DeadLetterRow> PostgresDeadLetters(string connectionString, string schema, string? runId = null)
    {
        using var connection = OpenPostgres(connectionString);
        using var command = new NpgsqlCommand($"""SELECT run_id, line, byte_offset, reason, head FROM "{schema}".dead_letters WHERE @run::text IS NULL OR run_id = @run ORDER BY line""", connection);
        command.Parameters.AddWithValue("run", (object?)runId ?? DBNull.Value);
        using var reader = command.ExecuteReader();
        var rows = new List<DeadLetterRow>();
        while (reader.Read())
        {
            rows.Add(new DeadLetterRow(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3), (byte[])reader.GetValue(4)));
        }

        return rows;
    }

    /// <summary>The rows a clean feed body must give: one per line, id order, raw = the line's <c>result</c> text.</summary>
    public static List<ProductRow> Expected(byte[] body)
    {
        var rows = new List<ProductRow>();
        foreach (var line in SplitLines(body))
        {
            using var document = JsonDocument.Parse(line);
            var result = document.RootElement.GetProperty("result");
            var name = result.GetProperty("name");
            rows.Add(new ProductRow(
                result.GetProperty("id").GetString()!,
                name.ValueKind == JsonValueKind.String ? name.GetString() : name.GetProperty("en").GetString(),
                document.RootElement.GetProperty("meta").GetProperty("updatedAt").GetInt64(),
                result.GetRawText()));
        }

        return [.. rows.OrderBy(r => r.Id, StringComparer.Ordinal)];
    }

    public static IEnumerable<byte[]> SplitLines(byte[] body)
    {
        var start = 0;
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] == (byte)'\n')
            {
                if (i > start)
                {
                    yield return body[start..i];
                }

                start = i + 1;
            }
        }

        if (start < body.Length)
        {
            yield return body[start..];
        }
    }

    /// <summary>Asserts the table holds exactly the rows (count and every row).</summary>
    public static void AssertEqual(List<ProductRow> expected, List<ProductRow> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i], actual[i]);
        }
    }

    private static NpgsqlConnection OpenPostgres(string connectionString)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        connection.Open();
        return connection;
    }

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        return connection;
    }
}
