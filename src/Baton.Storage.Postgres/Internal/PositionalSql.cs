using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using Npgsql;

namespace Baton.Storage.Postgres.Internal;

/// <summary>
/// The store's statements are written with named parameters (<c>@owner</c>) for reading; Npgsql would
/// parse every such statement on every execution to rewrite the names as <c>$1</c>, <c>$2</c>, ... (7 %
/// of the store's CPU in a perf profile of the engine benchmark). This rewrites each statement once and
/// hands Npgsql positional parameters, which it sends as they are.
/// </summary>
internal static class PositionalSql
{
    private static readonly ConcurrentDictionary<string, Rewritten> Cache = new(StringComparer.Ordinal);

    // The store's statements are fields built once: found by reference without hashing a 2 KB string.
    private static readonly ConditionalWeakTable<string, Rewritten> ByReference = new();

    /// <summary>A statement with <c>$n</c> placeholders and the parameter name each number stands for.</summary>
    internal sealed record Rewritten(string Sql, string[] Names);

    /// <summary>A copy of <paramref name="named"/> with positional placeholders and parameters (copies: Npgsql binds a parameter to the batch that runs it).</summary>
    public static NpgsqlBatchCommand ToPositional(NpgsqlBatchCommand named)
    {
        var rewritten = Rewrite(named.CommandText);
        var command = new NpgsqlBatchCommand(rewritten.Sql);
        foreach (var name in rewritten.Names)
        {
            var parameter = Find(named.Parameters, name, named.CommandText).Clone();
            parameter.ParameterName = "";
            command.Parameters.Add(parameter);
        }

        return command;
    }

    /// <summary>Turns <paramref name="command"/> into its positional form in place.</summary>
    public static void MakePositional(NpgsqlCommand command)
    {
        if (command.Parameters.Count == 0 || command.Parameters[0].ParameterName.Length == 0)
        {
            return;
        }

        command.CommandText = Reorder(command.CommandText, command.Parameters);
    }

    /// <summary>
    /// Turns <paramref name="command"/> into its positional form in place, without copying its parameters (a copy of
    /// every parameter of every hot write was half of the bytes the engine allocated per run on PostgreSQL).
    /// </summary>
    public static void MakePositional(NpgsqlBatchCommand command)
    {
        if (command.Parameters.Count == 0 || command.Parameters[0].ParameterName.Length == 0)
        {
            return;
        }

        command.CommandText = Reorder(command.CommandText, command.Parameters);
    }

    /// <summary>A copy of a positional <paramref name="command"/> (a command from a failed batch cannot be sent again).</summary>
    public static NpgsqlBatchCommand Copy(NpgsqlBatchCommand command)
    {
        var copy = new NpgsqlBatchCommand(command.CommandText);
        for (var i = 0; i < command.Parameters.Count; i++)
        {
            copy.Parameters.Add(command.Parameters[i].Clone());
        }

        return copy;
    }

    /// <summary>Puts <paramref name="parameters"/> in placeholder order, unnamed, and returns the positional statement.</summary>
    private static string Reorder(string sql, NpgsqlParameterCollection parameters)
    {
        var rewritten = Rewrite(sql);
        var named = ArrayPool<NpgsqlParameter>.Shared.Rent(parameters.Count);
        var count = parameters.Count;
        try
        {
            parameters.CopyTo(named, 0);
            parameters.Clear();
            // The parameters left the collection with Clear, so they can go back in, unnamed; a parameter the
            // statement uses twice is sent once ($n stands for it at every use).
            foreach (var name in rewritten.Names)
            {
                var parameter = Find(named.AsSpan(0, count), name, sql);
                parameter.ParameterName = "";
                parameters.Add(parameter);
            }
        }
        finally
        {
            Array.Clear(named, 0, count);
            ArrayPool<NpgsqlParameter>.Shared.Return(named);
        }

        return rewritten.Sql;
    }

    internal static Rewritten Rewrite(string sql) =>
        ByReference.TryGetValue(sql, out var known) ? known : ByReference.GetValue(sql, static s => Cache.GetOrAdd(s, Parse));

    private static NpgsqlParameter Find(IEnumerable<NpgsqlParameter> parameters, string name, string sql)
    {
        foreach (var parameter in parameters)
        {
            if (string.Equals(parameter.ParameterName, name, StringComparison.Ordinal))
            {
                return parameter;
            }
        }

        throw Missing(name, sql);
    }

    private static NpgsqlParameter Find(ReadOnlySpan<NpgsqlParameter> parameters, string name, string sql)
    {
        foreach (var parameter in parameters)
        {
            if (string.Equals(parameter.ParameterName, name, StringComparison.Ordinal))
            {
                return parameter;
            }
        }

        throw Missing(name, sql);
    }

    private static InvalidOperationException Missing(string name, string sql) =>
        new($"The statement uses @{name} but no such parameter was given: {sql}");

    /// <summary>
    /// Replaces each <c>@name</c> outside string literals, quoted identifiers and comments with <c>$n</c>
    /// (the same name gets the same number).
    /// </summary>
    private static Rewritten Parse(string sql)
    {
        var output = new StringBuilder(sql.Length);
        var names = new List<string>();
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            if (c is '\'' or '"')
            {
                var end = sql.IndexOf(c, i + 1);
                end = end < 0 ? sql.Length - 1 : end;
                output.Append(sql, i, end - i + 1);
                i = end + 1;
            }
            else if (c == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
            {
                var end = sql.IndexOf('\n', i);
                end = end < 0 ? sql.Length : end;
                output.Append(sql, i, end - i);
                i = end;
            }
            else if (c == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
            {
                var end = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                end = end < 0 ? sql.Length : end + 2;
                output.Append(sql, i, end - i);
                i = end;
            }
            else if (c == '@' && i + 1 < sql.Length && (char.IsAsciiLetter(sql[i + 1]) || sql[i + 1] == '_'))
            {
                var start = i + 1;
                var end = start;
                while (end < sql.Length && (char.IsAsciiLetterOrDigit(sql[end]) || sql[end] == '_'))
                {
                    end++;
                }

                var name = sql[start..end];
                var index = names.IndexOf(name);
                if (index < 0)
                {
                    names.Add(name);
                    index = names.Count - 1;
                }

                output.Append('$').Append(index + 1);
                i = end;
            }
            else
            {
                output.Append(c);
                i++;
            }
        }

        return new Rewritten(output.ToString(), [.. names]);
    }
}
