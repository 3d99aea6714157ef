// A Baton node for crash tests: runs one scenario workflow whose steps record every execution in a
// side table, so a test can SIGKILL this process at any point and check what ran how often.
// Usage: Baton.CrashHost --db PATH --effects PATH --scenario sequential|fanout|saga|timer|timer-suspended|event|event-timeout|child|retry-suspended|held-end --node NAME [--hold-after N] [--send-event NAME --payload TEXT] [--child-event NAME --payload TEXT]
using Baton.CrashHost;
using Baton.Hosting;
using Baton.Runs;
using Baton.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var options = Arguments.Parse(args);
// --hold-after N: step starts after the Nth hold until the process is killed (the restarted process runs them).
var effects = new EffectLog(options["effects"])
{
    HoldAfter = options.TryGetValue("hold-after", out var holdAfter) ? int.Parse(holdAfter, System.Globalization.CultureInfo.InvariantCulture) : int.MaxValue,
};
effects.EnsureCreated();

var builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders();
builder.Services.AddSingleton(effects);
builder.Services.AddBaton(o =>
{
    o.NodeId = options["node"];
    // The default 30 s lease: a restarted node must resume at once without waiting for it to expire.
    o.HeartbeatInterval = TimeSpan.FromMilliseconds(500);
    o.PollInterval = TimeSpan.FromMilliseconds(100);
    o.RunScheduler = false;
    if (options["scenario"] == "event-timeout")
    {
        // The window the kill must hit: the wait's timeout stored, the next step's start not yet (at most the 30 s lease).
        o.AttemptStartWriteDelay = TimeSpan.FromSeconds(25);
    }
})
.UseSqlite(o => o.Path = options["db"])
.AddWorkflow<SequentialWorkflow>("sequential")
.AddWorkflow<FanOutWorkflow>("fanout")
.AddWorkflow<SagaWorkflow>("saga")
.AddWorkflow<ShortTimerWorkflow>("timer")
.AddWorkflow<LongTimerWorkflow>("timer-suspended")
.AddWorkflow<EventWaitWorkflow>("event")
.AddWorkflow<EventTimeoutWorkflow>("event-timeout")
.AddWorkflow<ChildParentWorkflow>("child")
.AddWorkflow<ChildWaitsWorkflow>("child-waits")
.AddWorkflow<RetryWaitWorkflow>("retry-suspended")
.AddWorkflow<HeldEndWorkflow>("held-end");

using var host = builder.Build();
await host.StartAsync();
var client = host.Services.GetRequiredService<IBatonClient>();
// The idempotency key makes a restarted host find the same run instead of starting another.
var start = await client.StartRunAsync(new StartRunRequest { Workflow = options["scenario"], IdempotencyKey = "crash-test" });
Console.WriteLine($"RUN {start.Run!.Id}");
if (options.TryGetValue("send-event", out var eventName))
{
    var payload = System.Text.Json.JsonSerializer.SerializeToElement(options.GetValueOrDefault("payload"));
    var sent = await client.SendEventAsync(start.Run.Id, eventName, payload);
    Console.WriteLine($"EVENT {sent.Outcome}");
}

if (options.TryGetValue("child-event", out var childEvent))
{
    // The child may not exist yet (the parent was killed before starting it): wait for the resumed parent to start it.
    var payload = System.Text.Json.JsonSerializer.SerializeToElement(options.GetValueOrDefault("payload"));
    IReadOnlyList<ChildRunInfo> children;
    while ((children = (await client.GetRunAsync(start.Run.Id))!.Children).Count == 0)
    {
        await Task.Delay(50);
    }

    var sent = await client.SendEventAsync(children[0].Id, childEvent, payload);
    Console.WriteLine($"CHILD EVENT {sent.Outcome}");
}

await host.WaitForShutdownAsync();
