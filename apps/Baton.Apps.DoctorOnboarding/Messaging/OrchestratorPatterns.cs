using System.Text.Json;
using Baton.Apps.DoctorOnboarding.Cache;
using Baton.Apps.DoctorOnboarding.Composition;
using Baton.Apps.DoctorOnboarding.Contracts;
using Baton.Apps.DoctorOnboarding.Saga;
using Baton.RabbitMq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Apps.DoctorOnboarding.Messaging;

/// <summary>The orchestrator's patterns (seed 004's list) on its NestJS server.</summary>
internal static class OrchestratorPatterns
{
    public static NestServerBuilder AddOrchestratorPatterns(this NestServerBuilder server, Func<IServiceProvider> services)
    {
        T Get<T>() where T : notnull => services().GetRequiredService<T>();

        server.AddNestPattern("orchestrator.health.ping", (_, _) =>
            Task.FromResult<JsonElement?>(JsonSerializer.SerializeToElement(new { status = "ok", message = "pong", timestamp = Get<TimeProvider>().GetUtcNow() })));
        server.AddNestPattern("orchestrator.health.check", (_, _) =>
        {
            var cacheDown = Get<CompositeCache>().IsDown;
            return Task.FromResult<JsonElement?>(JsonSerializer.SerializeToElement(new
            {
                status = "ok", service = "orchestrator", timestamp = Get<TimeProvider>().GetUtcNow(),
                checks = new { rabbitmq = "up", redis = cacheDown ? "down" : "up" },
            }));
        });

        // The sagas: the transport stores the run through the inbox keyed by the NestJS id (acked once stored), replies
        // with its output when it ends, or with the seed's error shape; a bad payload is refused before anything is stored.
        server.AddNestPattern("orchestrator.doctor.create", CreateDoctorSaga.Name, request =>
        {
            var (command, errors) = DoctorCommandReader.ReadCreate(request.Data);
            return command is null
                ? throw new NestRpcException(DoctorErrors.Validation(errors))
                : CreateDoctorSaga.ToInput(command, Get<IDataProtectionProvider>(), Get<TimeProvider>().GetUtcNow());
        }, details => SagaReplies.Error(details.Run));
        server.AddNestPattern("orchestrator.doctor.update", UpdateDoctorSaga.Name, request =>
        {
            var (command, errors) = UpdateDoctorCommandDto.Read(request.Data);
            return command is null
                ? throw new NestRpcException(DoctorErrors.Validation(errors))
                : UpdateDoctorSaga.ToInput(command, Get<IDataProtectionProvider>(), Get<TimeProvider>().GetUtcNow());
        }, details => SagaReplies.Error(details.Run));
        server.AddNestPattern("orchestrator.doctor.delete", DeleteDoctorSaga.Name, request =>
        {
            var (command, errors) = DeleteDoctorCommandDto.Read(request.Data);
            return command is null
                ? throw new NestRpcException(DoctorErrors.Validation(errors))
                : new DeleteDoctorInput { Command = command, ReceivedAt = Get<TimeProvider>().GetUtcNow() };
        }, details => SagaReplies.Error(details.Run));

        server.AddNestPattern("orchestrator.doctor.getComposite", (request, ct) => ReadAsync(() => Get<CompositeReader>().GetCompositeAsync(request.Data, ct)));
        server.AddNestPattern("orchestrator.doctor.searchComposite", (request, ct) => ReadAsync(() => Get<CompositeReader>().SearchCompositeAsync(request.Data, ct)));
        server.AddNestPattern("orchestrator.doctor.listComposite", (request, ct) => ReadAsync(() => Get<CompositeReader>().ListCompositeAsync(request.Data, ct)));

        server.AddNestPattern("orchestrator.cache.invalidate", async (request, _) =>
            JsonSerializer.SerializeToElement(new { invalidated = await Get<CacheInvalidation>().InvalidateAsync(request.Data).ConfigureAwait(false) }));
        server.AddNestPattern("orchestrator.cache.clear", async (_, _) =>
            JsonSerializer.SerializeToElement(new { invalidated = await Get<CacheInvalidation>().ClearAsync().ConfigureAwait(false) }));
        foreach (var pattern in CacheInvalidation.Events)
        {
            server.AddNestEvent(pattern, (message, _) => Get<CacheInvalidation>().OnEventAsync(message.Pattern, message.Data));
        }

        return server;
    }

    /// <summary>A read: a bad query or a service's error reply is passed on as the reply's err.</summary>
    private static async Task<JsonElement?> ReadAsync(Func<Task<JsonElement>> read)
    {
        try
        {
            return await read().ConfigureAwait(false);
        }
        catch (ReadRejectedException ex)
        {
            throw new NestRpcException(ex.Error);
        }
        catch (ServiceCallException ex)
        {
            throw new NestRpcException(ex.Error);
        }
        catch (TimeoutException ex)
        {
            throw new NestRpcException(ex.Message);
        }
    }
}
