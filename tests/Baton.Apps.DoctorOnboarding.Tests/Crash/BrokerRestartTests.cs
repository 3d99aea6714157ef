using Baton.Apps.DoctorOnboarding.Tests.Infrastructure;
using Baton.RabbitMq;
using Baton.Runs;

namespace Baton.Apps.DoctorOnboarding.Tests.Crash;

[Collection(RedisCollection.Name)]
public sealed class BrokerRestartTests
{
    private const int Requests = 30;

    [Fact]
    public async Task RabbitMqRestart_MidLoad_EveryRequestAnsweredOrTimedOutNoSagaTwiceNothingLeftBehind()
    {
        await using var broker = await PrivateRabbitMq.StartNewAsync();
        await using var rig = await OrchestratorRig.StartAsync(rabbitMqUrl: broker.Url);
        // The sagas' createProfile calls are held at the simulator until the broker is down, so the restart lands while
        // they wait (a fixed 3 s delay did not guarantee it: on a loaded machine `rabbitmqctl shutdown`, an Erlang VM
        // that boots first, took longer than every saga, and all 30 completed before the stop).
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        rig.Simulator.Faults.Set("doctor-profile.createEmpty", new Baton.Simulators.DoctorServices.PatternFault { Hold = release.Task });

        var calls = Enumerable.Range(0, Requests).Select(i => rig.SendAsync(
            "orchestrator.doctor.create", OrchestratorRig.Doctor($"load-{i}-{Guid.NewGuid():N}@example.org"), TimeSpan.FromSeconds(40))).ToList();
        try
        {
            await Poll.UntilAsync(() => Task.FromResult(rig.Simulator.State.Calls.Count(c => c == "doctor-profile.createEmpty")), n => n >= 3, "sagas in flight");
            await broker.StopAsync();
        }
        finally
        {
            rig.Simulator.Faults.Clear("doctor-profile.createEmpty");
            release.TrySetResult();
        }

        await broker.StartAsync();

        var outcomes = new List<string>();
        foreach (var call in calls)
        {
            try
            {
                await call;
                outcomes.Add("completed");
            }
            catch (NestRpcException)
            {
                outcomes.Add("saga-failed");
            }
            catch (Exception ex) when (ex is TimeoutException or RabbitMqUnavailableException)
            {
                outcomes.Add("caller-gave-up");
            }
        }

        Assert.Equal(Requests, outcomes.Count);
        Assert.Contains(outcomes, o => o != "completed");
        IReadOnlyList<RunInfo> runs = [];
        await Poll.UntilAsync(
            async () =>
            {
                runs = (await rig.Baton.ListRunsAsync(new ListRunsRequest { Limit = 500 })).Runs;
                return string.Join(", ", runs.GroupBy(r => $"{r.Status}/{r.Phase}").Select(g => $"{g.Key}={g.Count()}"));
            },
            _ => runs.All(r => r.Status is RunStatus.Succeeded or RunStatus.Compensated or RunStatus.Failed or RunStatus.CompensationFailed),
            "every saga to end", TimeSpan.FromSeconds(90));
        Assert.Equal(runs.Count, runs.Select(r => r.IdempotencyKey).Distinct().Count());
        Assert.DoesNotContain(runs, r => r.Status == RunStatus.CompensationFailed);
        var succeeded = runs.Count(r => r.Status == RunStatus.Succeeded);
        Assert.True(outcomes.Count(o => o == "completed") <= succeeded);
        // Failed once in CI (ci46: one account left, no saga succeeded). The likely cause, a create the broker delivered again
        // after the restart, once its saga had removed the account, made a new one: the simulators forgot a key with its
        // entity (IdempotencyKeyTests). The runs' ends say which saga left it, if it happens again.
        Assert.True(
            succeeded == rig.Simulator.State.Accounts.Count,
            $"{rig.Simulator.State.Accounts.Count} accounts for {succeeded} sagas succeeded; runs: "
            + string.Join("; ", runs.Select(r => $"{r.Status} {r.Failure?.Step} {r.Failure?.SagaState} {r.Failure?.Message}")));
        Assert.Equal(succeeded, rig.Simulator.State.Profiles.Count);
        Assert.Equal(rig.Simulator.State.Accounts.Count, rig.Simulator.State.Accounts.Select(a => a["email"]!.GetValue<string>()).Distinct().Count());
    }
}
