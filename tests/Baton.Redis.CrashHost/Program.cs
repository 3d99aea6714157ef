// A Baton node that consumes one Redis list with AddRedisListTrigger (each item starts a "consume" run with one step),
// for the SIGKILL test: it prints "SUCCEEDED n" whenever the number of succeeded runs changes.
// Usage: Baton.Redis.CrashHost --db PATH --redis CONFIGURATION --list KEY --prefix KEYPREFIX --node NAME [--pace-ms N] [--hold-after N]
// --pace-ms holds every batch N ms before the inbox takes it; --hold-after N holds every batch after the first N items
// until the process is killed, so the test can SIGKILL it while the list still has items however fast the machine is
// and however slowly the test polls (unheld, 10,000 items can leave the list between two of the test's polls).
using System.Text.Json;
using Baton.Hosting;
using Baton.Redis;
using Baton.Redis.Tests;
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

if (options.ContainsKey("pace-ms") || options.ContainsKey("hold-after"))
{
    PacedInbox.Replace(
        builder.Services,
        TimeSpan.FromMilliseconds(options.TryGetValue("pace-ms", out var pace) ? int.Parse(pace, System.Globalization.CultureInfo.InvariantCulture) : 0),
        options.TryGetValue("hold-after", out var hold) ? int.Parse(hold, System.Globalization.CultureInfo.InvariantCulture) : int.MaxValue);
}

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

