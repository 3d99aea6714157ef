using Baton.Dashboard.Pages;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;

namespace Baton.Dashboard.Live;

/// <summary>
/// Renders one of the page's components to HTML for the live stream, under the page's <see cref="DashboardPaths"/>, so a
/// live part is exactly what a reload would show.
/// </summary>
internal sealed class ComponentHtml(HtmlRenderer renderer, DashboardPaths paths)
{
    public Task<string> RenderAsync<TComponent>(string parameter, object value)
        where TComponent : IComponent =>
        RenderAsync<TComponent>(new Dictionary<string, object?> { [parameter] = value });

    public Task<string> RenderAsync<TComponent>(Dictionary<string, object?> parameters)
        where TComponent : IComponent =>
        renderer.Dispatcher.InvokeAsync(async () =>
        {
            var output = await renderer.RenderComponentAsync<PathsFrame>(ParameterView.FromDictionary(PathsFrame.For<TComponent>(paths, parameters)));
            return output.ToHtmlString();
        });
}
