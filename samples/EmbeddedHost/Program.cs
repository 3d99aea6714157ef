using Baton.AspNetCore;
using Baton.Hosting;
using Baton.Storage.Sqlite;
using Baton.Workflows;

var builder = WebApplication.CreateBuilder(args);

// The engine on an embedded SQLite file, with this app's own workflow.
builder.Services.AddBaton()
    .UseSqlite(o => o.Path = builder.Configuration["Sample:Database"] ?? Path.Combine(builder.Environment.ContentRootPath, "baton.db"))
    .AddWorkflow<GreetingWorkflow>("greeting");

// Baton's HTTP surface: the API behind the admin key (ADMIN_KEY), health, Prometheus metrics.
builder.Services.AddBatonServer(o => o.AdminKey = builder.Configuration["ADMIN_KEY"]);

var app = builder.Build();
app.MapGet("/", () => "An app that embeds Baton: try /api/workflows with the X-ADMIN-KEY header.");
app.MapBatonApi();
app.MapBatonHealth();
app.MapBatonMetrics();
app.Run();

/// <summary>Input of <see cref="GreetingWorkflow"/>.</summary>
public sealed record GreetingInput(string Name);

/// <summary>Output of <see cref="GreetingWorkflow"/>.</summary>
public sealed record Greeting(string Message, int Letters);

/// <summary>Two durable steps: once a step has succeeded, a resumed run returns its stored result instead of running it again.</summary>
public sealed class GreetingWorkflow : Workflow<GreetingInput, Greeting>
{
    public override async Task<Greeting> RunAsync(IWorkflowContext context, GreetingInput input, CancellationToken cancellationToken)
    {
        var name = await context.StepAsync("normalize", _ => Task.FromResult(input.Name.Trim()), cancellationToken: cancellationToken);
        var letters = await context.StepAsync("count", _ => Task.FromResult(name.Count(char.IsLetter)), cancellationToken: cancellationToken);
        return new Greeting($"Hello, {name}!", letters);
    }
}
