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
    /// <summary>The binder's message for each value under <paramref name="section"/> that does not convert to <paramref name="type"/>'s property of that name.</summary>
    public static IReadOnlyList<string> Problems(IConfigurationSection section, Type type)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(type);
        var problems = new List<string>();
        Collect(section, type, problems, depth: 0);
        return problems;
    }

    private static void Collect(IConfigurationSection section, Type type, List<string> problems, int depth)
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
                    section.GetValue(property.PropertyType, child.Key);
                }
                catch (InvalidOperationException ex)
                {
                    problems.Add(ex.Message);
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
