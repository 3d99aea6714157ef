using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Baton.Runs;
using Baton.Storage;

namespace Baton.Workflows;

/// <summary>A registered workflow: how to read its input, run it and write its output.</summary>
internal sealed class WorkflowDefinition
{
    public required WorkflowDescriptor Descriptor { get; init; }
    public required WorkflowOptions Options { get; init; }

    /// <summary>Reads the input JSON into the input type; throws <see cref="JsonException"/> when it does not fit.</summary>
    public required Func<JsonElement?, JsonSerializerOptions, object?> ReadInput { get; init; }

    public required Func<IServiceProvider, IWorkflowContext, object?, CancellationToken, Task<object?>> Run { get; init; }

    /// <summary>The typed concurrency key selector, wrapped to take the boxed input; null when the key is fixed.</summary>
    public Func<object?, string?>? KeySelector { get; init; }

    public string Name => Descriptor.Name;

    public string? ConcurrencyKeyFor(object? input) => KeySelector is { } selector ? selector(input) : Options.ConcurrencyKey;

    /// <summary>The versions of the runs this code can execute: its own version and those it resumes.</summary>
    public IEnumerable<int> Versions() => Options.ResumesVersions.Append(Options.Version).Distinct();

    /// <summary>The <c>name@version</c> keys of the runs this code can execute (<see cref="Versions"/>).</summary>
    public IEnumerable<string> VersionKeys() => Versions().Select(v => ClaimRunsRequest.WorkflowVersionKey(Name, v));

    /// <summary>
    /// Reads a run's input into the input type; the stored text is the caller's JSON as given. With
    /// <see cref="WorkflowJson.Input"/> as <paramref name="serializerOptions"/> (a new run), a field the input type
    /// does not have is an error naming it.
    /// </summary>
    public bool TryReadInput(JsonElement? json, JsonSerializerOptions serializerOptions, [NotNullWhen(true)] out RunInput? input, [NotNullWhen(false)] out RunInputException? error)
    {
        input = null;
        if (json is { } raw && StoredJson.Problem(raw) is { } problem)
        {
            error = new RunInputException("input " + problem, null);
            return false;
        }

        object? value;
        try
        {
            value = ReadInput(json, serializerOptions);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            error = new RunInputException($"input does not fit {Descriptor.InputType.Name}: {ex.Message}", ex);
            return false;
        }

        string? key;
        try
        {
            key = ConcurrencyKeyFor(value);
        }
        catch (Exception ex)
        {
            // The selector is the app's code: one that cannot read this input refuses it, as input that does not fit is.
            error = new RunInputException($"the concurrency key cannot be taken from the input: {ex.Message}", ex);
            return false;
        }

        if (RunKeys.ConcurrencyKeyProblem(key) is { } keyProblem)
        {
            error = new RunInputException($"the concurrency key taken from the input {keyProblem}", null);
            return false;
        }

        input = new RunInput(value, json is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } element ? element.GetRawText() : null, key);
        error = null;
        return true;
    }
}

/// <summary>
/// A run's input: read into the workflow's input type, the JSON text that is stored, and the concurrency key the
/// workflow takes from it (its fixed key, or null for none), checked as a start's own key is.
/// </summary>
internal sealed record RunInput(object? Value, string? Json, string? ConcurrencyKey = null);

/// <summary>A run's input does not fit its workflow's input type.</summary>
internal sealed class RunInputException(string message, Exception? inner) : Exception(message, inner);

internal sealed class WorkflowRegistry : IWorkflowCatalog
{
    private readonly Dictionary<string, WorkflowDefinition> _definitions = new(StringComparer.Ordinal);

    public IReadOnlyCollection<WorkflowDescriptor> Workflows => _definitions.Values.Select(d => d.Descriptor).ToList();

    /// <summary>Each workflow's version and the older versions it resumes, sorted by name, as the node registry records them.</summary>
    public IReadOnlyList<NodeWorkflowVersions> NodeVersions =>
        [.. _definitions.Values.OrderBy(d => d.Name, StringComparer.Ordinal)
            .Select(d => new NodeWorkflowVersions(d.Name, d.Options.Version, [.. d.Options.ResumesVersions.Distinct().Order()]))];

    /// <summary>The <c>name@version</c> keys of every run this node's code can execute.</summary>
    public IEnumerable<string> VersionKeys => _definitions.Values.SelectMany(d => d.VersionKeys());

    public bool TryGet(string name, out WorkflowDescriptor descriptor)
    {
        if (_definitions.TryGetValue(name, out var definition))
        {
            descriptor = definition.Descriptor;
            return true;
        }

        descriptor = null!;
        return false;
    }

    public WorkflowDefinition? Find(string name) => _definitions.GetValueOrDefault(name);

    /// <summary>
    /// The definition that executes runs of <paramref name="name"/> at <paramref name="version"/> on this node (its
    /// <c>Version</c> or one of its <c>ResumesVersions</c>), or null when this node does not claim them.
    /// </summary>
    public WorkflowDefinition? Find(string name, int version) =>
        Find(name) is { } definition && definition.Versions().Contains(version) ? definition : null;

    public void Add<TInput, TOutput>(
        string name,
        Func<IServiceProvider, IWorkflowContext, TInput, CancellationToken, Task<TOutput>> run,
        WorkflowOptions options)
    {
        // '#' separates a step key from its call count (child:{workflow}#2): a name holding it could not be a child run's.
        if (string.IsNullOrWhiteSpace(name) || name.Length > 200 || name.Any(c => char.IsWhiteSpace(c) || c is '/' or '#'))
        {
            throw new ArgumentException($"workflow name '{name}' is invalid: use 1-200 characters without spaces, '/' or '#'", nameof(name));
        }

        if (_definitions.ContainsKey(name))
        {
            throw new InvalidOperationException($"a workflow named '{name}' is already registered");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(options.ConcurrencyLimit, 1);
        ValidateVersions(name, options);
        Func<object?, string?>? keySelector = null;
        if (options.ConcurrencyKeySelector is { } selector)
        {
            // Func<in T, ...>: a selector over a base type of the input fits too.
            if (selector is not Func<TInput, string?> typed)
            {
                throw new ArgumentException(
                    $"the concurrency key selector of workflow '{name}' takes {selector.GetType().GetGenericArguments()[0].Name}, but its input is {typeof(TInput).Name}",
                    nameof(options));
            }

            keySelector = input => typed((TInput)input!);
        }

        var hasKey = options.ConcurrencyKey is not null || keySelector is not null;
        _definitions[name] = new WorkflowDefinition
        {
            Descriptor = new WorkflowDescriptor(name, typeof(TInput), typeof(TOutput), options.Description, hasKey ? options.ConcurrencyLimit : null),
            Options = options,
            ReadInput = static (json, serializerOptions) => ReadInput<TInput>(json, serializerOptions),
            KeySelector = keySelector,
            Run = async (services, context, input, cancellationToken) =>
                await run(services, context, (TInput)input!, cancellationToken).ConfigureAwait(false),
        };
    }

    private static void ValidateVersions(string name, WorkflowOptions options)
    {
        if (options.Version < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Version, $"the version of workflow '{name}' must be at least 1");
        }

        ArgumentNullException.ThrowIfNull(options.ResumesVersions, nameof(options));
        foreach (var bad in options.ResumesVersions.Where(v => v < 1 || v >= options.Version))
        {
            throw new ArgumentOutOfRangeException(
                nameof(options), bad, $"workflow '{name}' version {options.Version} can resume only older versions from 1, not {bad}");
        }
    }

    private static object? ReadInput<TInput>(JsonElement? json, JsonSerializerOptions serializerOptions)
    {
        if (json is not { } element || element.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            if (default(TInput) is null && typeof(TInput) != typeof(JsonElement) && Nullable.GetUnderlyingType(typeof(TInput)) is null
                && !typeof(TInput).IsValueType && typeof(TInput) != typeof(object))
            {
                // A reference-type input with no body: an empty object, so defaults apply.
                return JsonSerializer.Deserialize<TInput>("{}", serializerOptions);
            }

            return default(TInput);
        }

        return element.Deserialize<TInput>(serializerOptions);
    }
}
