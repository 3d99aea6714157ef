using System.Collections;

namespace Baton.Workers;

/// <summary>
/// A logging scope of named values (run id, workflow, step, ...). Structured formatters read the pairs; its
/// text, which the JSON console formatter writes as the scope's <c>Message</c>, is <c>Name:value</c> pairs
/// instead of a collection's type name.
/// </summary>
internal sealed class LogScope(params KeyValuePair<string, object?>[] values) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => values.Length;

    public KeyValuePair<string, object?> this[int index] => values[index];

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)values).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Join(' ', values.Select(v => $"{v.Key}:{v.Value}"));
}
