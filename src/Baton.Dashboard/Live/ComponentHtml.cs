using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;

namespace Baton.Dashboard.Live;

/// <summary>Renders one of the page's components to HTML for the live stream, so a live part is exactly what a reload would show.</summary>
internal static class ComponentHtml
{
    public static Task<string> RenderAsync<TComponent>(HtmlRenderer renderer, string parameter, object value)
        where TComponent : IComponent =>
        RenderAsync<TComponent>(renderer, new Dictionary<string, object?> { [parameter] = value });

    public static Task<string> RenderAsync<TComponent>(HtmlRenderer renderer, Dictionary<string, object?> parameters)
        where TComponent : IComponent =>
        renderer.Dispatcher.InvokeAsync(async () =>
        {
            var output = await renderer.RenderComponentAsync<TComponent>(ParameterView.FromDictionary(parameters));
            return output.ToHtmlString();
        });
}
