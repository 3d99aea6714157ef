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
        // Slow enough that the restart lands while sagas wait on createProfile: the broker goes down under them. 3 s, not
        // 1.5 s: the simulator answers 16 calls at once, so with 1.5 s every saga had its answer about 3 s after the first
        // call, and `rabbitmqctl shutdown` (an Erlang VM that boots first) can take that long on a loaded machine, after
        // which no call failed (one run here saw 16 of 30 complete before the stop). Not much more: at 5 s the retries of
        // the calls whose replies the restart lost queued behind each other (16 at a time) past the 12 s call timeout.
        rig.Simulator.Faults.Set("doctor-profile.createEmpty", new Baton.Simulators.DoctorServices.PatternFault { DelayMs = 3000 });

        var calls = Enumerable.Range(0, Requests).Select(i => rig.SendAsync(
            "orchestrator.doctor.create", OrchestratorRig.Doctor($"load-{i}-{Guid.NewGuid():N}@example.org"), TimeSpan.FromSeconds(40))).ToList();
        await Poll.UntilAsync(() => Task.FromResult(rig.Simulator.State.Calls.Count(c => c == "doctor-profile.createEmpty")), n => n >= 3, "sagas in flight");
        await broker.StopAsync();
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
        Assert.Equal(succeeded, rig.Simulator.State.Accounts.Count);
        Assert.Equal(succeeded, rig.Simulator.State.Profiles.Count);
        Assert.Equal(rig.Simulator.State.Accounts.Count, rig.Simulator.State.Accounts.Select(a => a["email"]!.GetValue<string>()).Distinct().Count());
    }
}
