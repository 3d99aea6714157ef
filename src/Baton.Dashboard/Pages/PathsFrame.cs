using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Rendering;

namespace Baton.Dashboard.Pages;

/// <summary>
/// Renders <see cref="Component"/> with its <see cref="Parameters"/> under the request's <see cref="DashboardPaths"/>, given
/// as a cascading value: a page and the parts the live stream renders take their URLs from it, not from a fixed <c>/ui</c>.
/// </summary>
internal sealed class PathsFrame : ComponentBase
{
    [Parameter, EditorRequired] public DashboardPaths Paths { get; set; } = default!;
    [Parameter, EditorRequired] public Type Component { get; set; } = default!;
    [Parameter, EditorRequired] public IReadOnlyDictionary<string, object?> Parameters { get; set; } = default!;

    protected override void BuildRenderTree(RenderTreeBuilder builder)
    {
        builder.OpenComponent<CascadingValue<DashboardPaths>>(0);
        builder.AddComponentParameter(1, nameof(CascadingValue<DashboardPaths>.Value), Paths);
        builder.AddComponentParameter(2, nameof(CascadingValue<DashboardPaths>.IsFixed), true);
        builder.AddComponentParameter(3, nameof(CascadingValue<DashboardPaths>.ChildContent), (RenderFragment)(content =>
        {
            content.OpenComponent(0, Component);
            foreach (var (name, value) in Parameters)
            {
                content.AddComponentParameter(1, name, value);
            }

            content.CloseComponent();
        }));
        builder.CloseComponent();
    }

    /// <summary>The frame's parameters for <typeparamref name="TComponent"/> with <paramref name="parameters"/>.</summary>
    public static Dictionary<string, object?> For<TComponent>(DashboardPaths paths, IReadOnlyDictionary<string, object?> parameters)
        where TComponent : IComponent => new()
        {
            [nameof(Paths)] = paths,
            [nameof(Component)] = typeof(TComponent),
            [nameof(Parameters)] = parameters,
        };
}
