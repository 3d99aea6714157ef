using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Baton.Server.Configuration;

/// <summary>
/// Every value of a configuration section that the binder could not convert to its property's type, each in the binder's
/// own words. The binder stops at the first such value, so a report built from its exception named one bad setting at a
/// time; this lists them all at once.
/// </summary>
public static class SettingConversions
{
    /// <summary>
    /// The binder's message for each value under <paramref name="section"/> that does not convert to <paramref name="type"/>'s
    /// property of that name, and for a number given for an enum that names none of its values.
    /// </summary>
    public static IReadOnlyList<string> Problems(IConfigurationSection section, Type type) =>
        [.. Check(section, type).Select(p => p.Message)];

    /// <summary>
    /// Binds <paramref name="section"/> to <paramref name="options"/> leaving out the values that do not convert (returned,
    /// as <see cref="Problems"/> words them), so every other value is bound and its validator still checks it. The binder
    /// alone stops at the first bad value: the values after it kept their defaults, and a validator then reported those
    /// (a required URL that was set) instead of what was wrong with the others.
    /// </summary>
    public static IReadOnlyList<string> Bind(IConfigurationSection section, object options)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(options);
        var problems = Check(section, options.GetType());
        if (problems.Count == 0)
        {
            section.Bind(options);
            return [];
        }

        var bad = problems.Select(p => p.Path).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var good = section.AsEnumerable(makePathsRelative: true)
            .Where(pair => pair.Value is not null && !bad.Contains(ConfigurationPath.Combine(section.Path, pair.Key)));
        new ConfigurationBuilder().AddInMemoryCollection(good).Build().Bind(options);
        return [.. problems.Select(p => p.Message)];
    }

    private static List<(string Path, string Message)> Check(IConfigurationSection section, Type type)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(type);
        var problems = new List<(string Path, string Message)>();
        Collect(section, type, problems, depth: 0);
        return problems;
    }

    private static void Collect(IConfigurationSection section, Type type, List<(string Path, string Message)> problems, int depth)
    {
        foreach (var child in section.GetChildren())
        {
            var property = type.GetProperty(child.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is null || property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            var target = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (child.Value is not null && IsScalar(target))
            {
                try
                {
                    // The binder's own conversion (and message), one value at a time.
                    var value = section.GetValue(property.PropertyType, child.Key);
                    if (target.IsEnum && value is not null && !target.IsDefined(typeof(FlagsAttribute), false) && !Enum.IsDefined(target, value))
                    {
                        // The binder takes any number for an enum: Mode=7 ran as neither mode.
                        problems.Add((child.Path, $"'{child.Value}' at '{child.Path}' is not one of {string.Join(", ", Enum.GetNames(target))}."));
                    }
                }
                catch (InvalidOperationException ex)
                {
                    problems.Add((child.Path, ex.Message));
                }
            }
            else if (child.Value is null && depth < 8 && target.IsClass && target != typeof(string) && !typeof(System.Collections.IEnumerable).IsAssignableFrom(target))
            {
                Collect(child, target, problems, depth + 1);
            }
        }
    }

    private static bool IsScalar(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
        || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(Guid) || type == typeof(Uri);
}
