// A Baton node that consumes one Redis list with AddRedisListTrigger (each item starts a "consume" run with one step),
// for the SIGKILL test: it prints "SUCCEEDED n" whenever the number of succeeded runs changes.
// Usage: Baton.Redis.CrashHost --db PATH --redis CONFIGURATION --list KEY --prefix KEYPREFIX --node NAME
using System.Text.Json;
using Baton.Hosting;
using Baton.Redis;
using Baton.Runs;
using Baton.Storage;
using Baton.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2)
{
    options[args[i].TrimStart('-')] = args[i + 1];
}

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
    .AddWorkflow<JsonElement, string>("consume", (ctx, input, ct) => ctx.StepAsync("record", _ => Task.FromResult(input.GetRawText()), cancellationToken: ct))
    .AddRedis(options["redis"])
    .AddRedisListTrigger("crash", o =>
    {
        o.Lists.Add(options["list"]);
        o.Workflow = "consume";
        o.KeyPrefix = options["prefix"];
        o.BatchSize = 50;
    });

using var host = builder.Build();
await host.StartAsync();
Console.WriteLine("STARTED");
var store = host.Services.GetRequiredService<IBatonStore>();
var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
var last = -1L;
while (!lifetime.ApplicationStopping.IsCancellationRequested)
{
    var counts = await store.Runs.CountRunsAsync(new CountRunsRequest());
    var succeeded = counts.ByStatus.GetValueOrDefault(RunStatus.Succeeded);
    if (succeeded != last)
    {
        last = succeeded;
        Console.WriteLine($"SUCCEEDED {succeeded}");
    }

    try
    {
        await Task.Delay(50, lifetime.ApplicationStopping);
    }
    catch (OperationCanceledException)
    {
    }
}

await host.WaitForShutdownAsync();
