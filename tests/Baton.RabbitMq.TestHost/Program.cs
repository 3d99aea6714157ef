// A Baton node serving one run-starting pattern, "gated.double", for the RabbitMQ transport's crash tests. Its workflow
// has one step that records each execution (a line with the run id in --effects) and waits until the file --gate
// exists, so a test decides when runs may end and can SIGKILL this process while one is in flight.
// Usage: Baton.RabbitMq.TestHost --db PATH --url AMQP_URL --queue NAME --node NAME --gate PATH --effects PATH
using System.Text.Json;
using Baton.Hosting;
using Baton.RabbitMq;
using Baton.RabbitMq.Server;
using Baton.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2)
{
    options[args[i].TrimStart('-')] = args[i + 1];
}

var gate = options["gate"];
var effects = options["effects"];
var builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders();
builder.Services.AddBaton(o =>
{
    o.NodeId = options["node"];
    o.HeartbeatInterval = TimeSpan.FromMilliseconds(500);
    o.PollInterval = TimeSpan.FromMilliseconds(100);
    o.RunScheduler = false;
})
.UseSqlite(o => o.Path = options["db"])
.AddWorkflow<GateInput, GateOutput>("gated", async (ctx, input, cancellationToken) =>
{
    var doubled = await ctx.StepAsync("wait-gate", async ct =>
    {
        await File.AppendAllTextAsync(effects, ctx.RunId + "\n", ct);
        while (!File.Exists(gate))
        {
            await Task.Delay(20, ct);
        }

        return input.Value * 2;
    }, cancellationToken: cancellationToken);
    return new GateOutput(doubled, ctx.RunId);
})
.AddRabbitMq(options["url"])
.AddNestServer(options["queue"])
.AddNestPattern("gated.double", "gated", request => new GateInput(request.Data.GetProperty("value").GetInt32()));

using var host = builder.Build();
await host.StartAsync();
await host.Services.GetRequiredKeyedService<NestServer>(options["queue"]).Started;
Console.WriteLine("READY");
await host.WaitForShutdownAsync();

internal sealed record GateInput(int Value);

internal sealed record GateOutput(int Doubled, string RunId);
