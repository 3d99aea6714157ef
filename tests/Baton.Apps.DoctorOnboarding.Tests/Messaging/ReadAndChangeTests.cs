using System.Text.Json;
using Baton.Apps.DoctorOnboarding.Tests.Infrastructure;
using Baton.RabbitMq;
using Baton.Simulators.DoctorServices;

namespace Baton.Apps.DoctorOnboarding.Tests.Messaging;

[Collection(RedisCollection.Name)]
public sealed class ReadAndChangeTests
{
    [Fact]
    public async Task UpdateThenDelete_ThroughBroker_ReadsFollowTheChanges()
    {
        await using var rig = await OrchestratorRig.StartAsync();
        var created = (await rig.SendAsync("orchestrator.doctor.create", OrchestratorRig.Doctor($"chg-{Guid.NewGuid():N}@example.org")))!.Value;
        var id = created.GetProperty("accountId").GetString()!;
        await rig.SendAsync("orchestrator.doctor.getComposite", new { id });

        var updated = (await rig.SendAsync("orchestrator.doctor.update", new { id, account = new { fullName = "Ada King" }, profile = new { degree = "PhD" } }))!.Value;
        var afterUpdate = (await rig.SendAsync("orchestrator.doctor.getComposite", new { id }))!.Value;
        var deleted = (await rig.SendAsync("orchestrator.doctor.delete", new { id }))!.Value;
        var gone = await Assert.ThrowsAsync<NestRpcException>(() => rig.SendAsync("orchestrator.doctor.getComposite", new { id }));

        Assert.Equal(["loadDoctor", "updateAccount", "updateProfile"], updated.GetProperty("executedSteps").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal("Ada King", afterUpdate.GetProperty("fullName").GetString());
        Assert.Equal("PhD", afterUpdate.GetProperty("degree").GetString());
        Assert.False(afterUpdate.GetProperty("cache").GetProperty("hit").GetBoolean());
        Assert.Equal("completed", deleted.GetProperty("status").GetString());
        Assert.Contains("not found", gone.Message, StringComparison.Ordinal);
        Assert.Empty(rig.Simulator.State.Accounts);
        Assert.Empty(rig.Simulator.State.Profiles);
    }

    [Fact]
    public async Task Update_NewPasswordThroughBroker_NeitherTheStoreNorTheRunApiShowsIt()
    {
        await using var rig = await OrchestratorRig.StartAsync();
        var created = (await rig.SendAsync("orchestrator.doctor.create", OrchestratorRig.Doctor($"pw-{Guid.NewGuid():N}@example.org")))!.Value;
        var id = created.GetProperty("accountId").GetString()!;

        var updated = (await rig.SendAsync("orchestrator.doctor.update", new { id, account = new { password = "NewSecret-999", fullName = "Dr A2" } }))!.Value;
        var run = (await rig.Baton.GetRunAsync(updated.GetProperty("sagaId").GetString()!))!;

        Assert.Equal("completed", updated.GetProperty("status").GetString());
        Assert.True(rig.Simulator.State.HasPassword(id, "NewSecret-999"));
        Assert.DoesNotContain("NewSecret-999", run.Run.Input!, StringComparison.Ordinal);
        // The database, its WAL and anything else the store wrote (the process lock file holds no data and stays locked).
        foreach (var file in System.IO.Directory.GetFiles(rig.Directory, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            Assert.DoesNotContain("NewSecret-999", await reader.ReadToEndAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task CacheClearAndInvalidate_RedisDown_ErrorSaysSoInsteadOfNothingInvalidated()
    {
        // Before: {"invalidated":0}, the same answer as a cache with nothing to drop.
        await using var redis = await PrivateRedis.StartAsync();
        await using var rig = await OrchestratorRig.StartAsync(redisUrl: redis.Url);
        Assert.Equal(0, (await rig.SendAsync("orchestrator.cache.clear", null))!.Value.GetProperty("invalidated").GetInt64());

        redis.Kill();
        var clear = await Assert.ThrowsAsync<NestRpcException>(() => rig.SendAsync("orchestrator.cache.clear", null));
        var invalidate = await Assert.ThrowsAsync<NestRpcException>(() => rig.SendAsync("orchestrator.cache.invalidate", new { }));

        Assert.Equal(503, clear.Error.GetProperty("statusCode").GetInt32());
        Assert.Contains("did not answer", clear.Message, StringComparison.Ordinal);
        Assert.Equal(503, invalidate.Error.GetProperty("statusCode").GetInt32());
    }

    [Fact]
    public async Task SearchAndList_ThroughBroker_MergedCachedAndInvalidatedOnRequest()
    {
        await using var rig = await OrchestratorRig.StartAsync();
        await rig.SendAsync("orchestrator.cache.clear", null);
        foreach (var name in new[] { "a", "b" })
        {
            await rig.SendAsync("orchestrator.doctor.create", OrchestratorRig.Doctor($"{name}-{Guid.NewGuid():N}@example.org"));
        }

        var query = new { page = 1, limit = 10 };
        var search = (await rig.SendAsync("orchestrator.doctor.searchComposite", query))!.Value;
        var list = (await rig.SendAsync("orchestrator.doctor.listComposite", query))!.Value;
        var searchAgain = (await Poll.UntilAsync(
            async () => (await rig.SendAsync("orchestrator.doctor.searchComposite", query))!.Value,
            r => r.GetProperty("cache").GetProperty("hit").GetBoolean(), "a cached search (the creations' events may still be arriving)"));
        var invalidated = (await rig.SendAsync("orchestrator.cache.invalidate", new { }))!.Value;
        var afterInvalidate = (await rig.SendAsync("orchestrator.doctor.searchComposite", query))!.Value;

        Assert.Equal(2, search.GetProperty("data").GetArrayLength());
        Assert.All(search.GetProperty("data").EnumerateArray(), d => Assert.Equal("Ada Lovelace", d.GetProperty("fullName").GetString()));
        Assert.Equal(2, list.GetProperty("data").GetArrayLength());
        Assert.All(list.GetProperty("data").EnumerateArray(), d => Assert.Equal("MD", d.GetProperty("degree").GetString()));
        Assert.Equal(2, searchAgain.GetProperty("data").GetArrayLength());
        Assert.True(invalidated.GetProperty("invalidated").GetInt64() >= 1);
        Assert.False(afterInvalidate.GetProperty("cache").GetProperty("hit").GetBoolean());
    }

    [Fact]
    public async Task GetAndList_AccountWithoutAProfile_GetAnswersNotFoundListShowsItsAccountFields()
    {
        // An account whose profile is gone (removed in the directory, or a create whose compensation could not remove the
        // account) is not a doctor (README, "List reads").
        await using var rig = await OrchestratorRig.StartAsync();
        await rig.SendAsync("orchestrator.cache.clear", null);
        var created = (await rig.SendAsync("orchestrator.doctor.create", OrchestratorRig.Doctor($"half-{Guid.NewGuid():N}@example.org")))!.Value;
        var id = created.GetProperty("accountId").GetString()!;
        var profileId = rig.Simulator.State.Profiles.Single()["id"]!.GetValue<string>();
        await rig.Simulator.HandleAsync("doctor-profile.remove", JsonSerializer.SerializeToElement(new { id = profileId }));
        Assert.Empty(rig.Simulator.State.Profiles);

        var get = await Assert.ThrowsAsync<NestRpcException>(() => rig.SendAsync("orchestrator.doctor.getComposite", new { id }));
        var list = (await rig.SendAsync("orchestrator.doctor.listComposite", new { page = 1, limit = 10 }))!.Value;

        Assert.Contains($"profile of account {id} not found", get.Message, StringComparison.Ordinal);
        var item = Assert.Single(list.GetProperty("data").EnumerateArray());
        Assert.Equal((id, "Ada Lovelace"), (item.GetProperty("accountId").GetString(), item.GetProperty("fullName").GetString()));
        Assert.False(item.TryGetProperty("degree", out _));
    }

    [Fact]
    public async Task CreateCompensated_SeedEventsOnlyListCachedDuringSaga_NextListHasNoDoctor()
    {
        // Before: the compensations dropped no cache key and relied on the services' *.created/*.deleted events, which the
        // seed does not list: a list read while assignPermissions ran stayed cached (120 s) with the removed doctor in it.
        await using var rig = await OrchestratorRig.StartAsync();
        rig.Simulator.SeedEventsOnly = true;
        await rig.SendAsync("orchestrator.cache.clear", null);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        rig.Simulator.Faults.Set("doctor-accounts.assignPermissions", new PatternFault { FailTimes = 1, Hold = release.Task, Message = "permissions refused" });
        var query = new { page = 1, limit = 10 };

        var create = rig.SendAsync("orchestrator.doctor.create", OrchestratorRig.Doctor($"undo-{Guid.NewGuid():N}@example.org"));
        await CallsOfAsync(rig, "doctor-accounts.assignPermissions");
        var during = (await rig.SendAsync("orchestrator.doctor.listComposite", query))!.Value;
        release.SetResult();
        var failed = await Assert.ThrowsAsync<NestRpcException>(() => create);
        var after = (await rig.SendAsync("orchestrator.doctor.listComposite", query))!.Value;

        Assert.Equal(1, during.GetProperty("data").GetArrayLength());
        Assert.Equal("compensated", failed.Error.GetProperty("details").GetProperty("saga").GetProperty("state").GetString());
        Assert.Empty(rig.Simulator.State.Accounts);
        Assert.False(after.GetProperty("cache").GetProperty("hit").GetBoolean());
        Assert.Equal(0, after.GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task CreateProfileTimedOut_DirectoryCarriesItOutAfterTheUndo_NoProfileLeftBehind()
    {
        // Before: the account's undo asked getByAccountId while the directory still held the create, found nothing, and the
        // create carried out afterwards left a profile of an account that no longer exists.
        await using var rig = await OrchestratorRig.StartAsync(settings: new() { ["Baton:Apps:DoctorOnboarding:CallTimeout"] = "00:00:02" });
        using var directory = new ServerMessages(rig.DirectoryQueue);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        rig.Simulator.Faults.Set("doctor-profile.createEmpty", new PatternFault { Hold = release.Task });

        var create = rig.SendAsync("orchestrator.doctor.create", OrchestratorRig.Doctor($"late-{Guid.NewGuid():N}@example.org"));
        await CallsOfAsync(rig, "doctor-profile.createEmpty");
        rig.Simulator.Faults.Clear("doctor-profile.createEmpty");
        var failed = await Assert.ThrowsAsync<NestRpcException>(() => create);
        release.SetResult();
        // Every call the directory took is answered, the held create (carried out now, after the undo) last.
        await Poll.UntilAsync(
            () => Task.FromResult(directory.Count), n => n == rig.Simulator.State.Calls.Count(c => c.StartsWith("doctor-profile.", StringComparison.Ordinal)),
            "the directory to answer the held create");

        var saga = failed.Error.GetProperty("details").GetProperty("saga");
        Assert.Equal("createProfile", saga.GetProperty("step").GetString());
        Assert.Equal("compensated", saga.GetProperty("state").GetString());
        Assert.Empty(rig.Simulator.State.Accounts);
        Assert.Empty(rig.Simulator.State.Profiles);
    }

    [Fact]
    public async Task DeleteCompensated_SeedEventsOnlyListCachedDuringSaga_NextListHasTheRestoredProfile()
    {
        // Before: the profile's restore dropped no cache key and relied on doctor.profile.created, which the seed does not
        // list: a list read while removeAccount ran stayed cached (120 s) showing the doctor without a profile.
        await using var rig = await OrchestratorRig.StartAsync();
        rig.Simulator.SeedEventsOnly = true;
        await rig.SendAsync("orchestrator.cache.clear", null);
        var account = await rig.Simulator.HandleAsync("doctor-accounts.create", JsonSerializer.SerializeToElement(new
        {
            email = $"keep-{Guid.NewGuid():N}@example.org", password = "s3cret-pass", fullName = "Ada Lovelace", dob = "1815-12-10",
        }));
        var id = account!["id"]!.GetValue<string>();
        await rig.Simulator.HandleAsync("doctor-profile.createEmpty", JsonSerializer.SerializeToElement(new { staffAccountId = id, degree = "MD" }));
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        rig.Simulator.Faults.Set("doctor-accounts.remove", new PatternFault { FailTimes = 1, Hold = release.Task, Message = "account locked" });
        var query = new { page = 1, limit = 10 };

        var delete = rig.SendAsync("orchestrator.doctor.delete", new { id });
        await CallsOfAsync(rig, "doctor-accounts.remove");
        var during = (await rig.SendAsync("orchestrator.doctor.listComposite", query))!.Value;
        release.SetResult();
        var failed = await Assert.ThrowsAsync<NestRpcException>(() => delete);
        var after = (await rig.SendAsync("orchestrator.doctor.listComposite", query))!.Value;

        Assert.False(Assert.Single(during.GetProperty("data").EnumerateArray()).TryGetProperty("degree", out _));
        Assert.Equal("compensated", failed.Error.GetProperty("details").GetProperty("saga").GetProperty("state").GetString());
        Assert.False(after.GetProperty("cache").GetProperty("hit").GetBoolean());
        Assert.Equal("MD", Assert.Single(after.GetProperty("data").EnumerateArray()).GetProperty("degree").GetString());
    }

    [Fact]
    public async Task GetComposite_BadId_ValidationErrorWithoutServiceCalls()
    {
        await using var rig = await OrchestratorRig.StartAsync();

        var error = await Assert.ThrowsAsync<NestRpcException>(() => rig.SendAsync("orchestrator.doctor.getComposite", new { id = "doctor:*" }));

        Assert.Contains("validation failed: id must not contain", error.Error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(rig.Simulator.State.Calls);
    }

    private static Task CallsOfAsync(OrchestratorRig rig, string pattern) => Poll.UntilAsync(
        () => Task.FromResult(rig.Simulator.State.Calls.Count(c => c == pattern)), n => n >= 1, $"a call of {pattern}");

    /// <summary>
    /// Counts the messages a Nest server took from <paramref name="queue"/> and settled (<c>baton.rabbitmq.server.messages</c>,
    /// recorded once a message is answered and acknowledged): when a held call is done, as the simulators log a call when it arrives.
    /// </summary>
    private sealed class ServerMessages : IDisposable
    {
        private readonly System.Diagnostics.Metrics.MeterListener _listener = new();
        private long _count;

        public ServerMessages(string queue)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument is { Meter.Name: "Baton.RabbitMq", Name: "baton.rabbitmq.server.messages" })
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag is { Key: "queue", Value: string name } && name == queue)
                    {
                        Interlocked.Add(ref _count, value);
                    }
                }
            });
            _listener.Start();
        }

        public long Count => Interlocked.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }
}
