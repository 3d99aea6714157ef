using System.Text.Json;
using Baton.Apps.DoctorOnboarding.Contracts;
using Baton.Apps.DoctorOnboarding.Saga;
using Baton.Hosting;
using Baton.Runs;
using Baton.Simulators.DoctorServices;
using Baton.Storage.Sqlite;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Baton.Apps.DoctorOnboarding.Tests.Infrastructure;

/// <summary>
/// The app's sagas on the real engine in this process: real SQLite in a temp file, the simulators called directly,
/// and a fake clock (<see cref="Time"/>) that only the test moves, so timeouts are tested without waiting for them.
/// The cache points at a Redis port nobody listens on (sagas only drop keys; that is best effort).
/// </summary>
internal sealed class SagaHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly List<IHostedService> _hosted;
    private readonly string _database;

    private SagaHost(ServiceProvider services, FakeTimeProvider time, DoctorServicesSimulator simulator, string database)
    {
        _services = services;
        Time = time;
        Simulator = simulator;
        _database = database;
        _hosted = [.. services.GetServices<IHostedService>()];
    }

    public FakeTimeProvider Time { get; }

    public DoctorServicesSimulator Simulator { get; }

    public IBatonClient Client => _services.GetRequiredService<IBatonClient>();

    public IDataProtectionProvider Protection => _services.GetRequiredService<IDataProtectionProvider>();

    public static async Task<SagaHost> StartAsync(Action<DoctorOptions>? configure = null)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)) { AutoAdvanceAmount = TimeSpan.Zero };
        var simulator = new DoctorServicesSimulator(time);
        var options = new DoctorOptions { RedisUrl = $"127.0.0.1:{Ports.Free()},connectTimeout=200" };
        configure?.Invoke(options);
        var database = Path.Combine(Path.GetTempPath(), $"baton-doctor-{Guid.NewGuid():N}.db");
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(time);
        var baton = services.AddBaton(o =>
        {
            o.NodeId = "doctor-test";
            o.PollInterval = TimeSpan.FromMilliseconds(50);
            o.RunScheduler = false;
        }).UseSqlite(o => o.Path = database);
        baton.AddDoctorOnboardingCore(options);
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        services.AddSingleton<IDoctorServices>(new DirectDoctorServices(simulator));
        var host = new SagaHost(services.BuildServiceProvider(), time, simulator, database);
        foreach (var hosted in host._hosted)
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        return host;
    }

    public static CreateDoctorCommandDto Command(string email = "dr.ada@example.org") => new()
    {
        Email = email, Password = "s3cret-pass", FullName = "Ada Lovelace", Dob = "1815-12-10",
        Profile = new System.Text.Json.Nodes.JsonObject { ["degree"] = "MD" },
    };

    public Task<string> StartCreateAsync(CreateDoctorCommandDto command) =>
        StartAsync(CreateDoctorSaga.Name, CreateDoctorSaga.ToInput(command, Protection, Time.GetUtcNow()));

    public async Task<string> StartAsync(string workflow, object input)
    {
        var result = await Client.StartRunAsync(new StartRunRequest { Workflow = workflow, Input = JsonSerializer.SerializeToElement(input) });
        Assert.Equal(StartRunOutcome.Created, result.Outcome);
        return result.Run!.Id;
    }

    public Task<RunInfo> WaitForEndAsync(string runId) => Poll.UntilAsync(
        async () => (await Client.GetRunAsync(runId))!.Run,
        run => run.Status is RunStatus.Succeeded or RunStatus.Failed or RunStatus.Compensated or RunStatus.CompensationFailed or RunStatus.Cancelled,
        $"run {runId} to end");

    /// <summary>Waits until the simulators received <paramref name="count"/> calls of <paramref name="pattern"/>.</summary>
    public Task WaitForCallAsync(string pattern, int count = 1) => Poll.UntilAsync(
        () => Task.FromResult(Simulator.State.Calls.Count(c => c == pattern)), n => n >= count, $"{count} call(s) of {pattern}");

    public async ValueTask DisposeAsync()
    {
        foreach (var hosted in Enumerable.Reverse(_hosted))
        {
            await hosted.StopAsync(CancellationToken.None);
        }

        await _services.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _database, _database + "-wal", _database + "-shm", _database + ".lock" })
        {
            File.Delete(file);
        }
    }
}
