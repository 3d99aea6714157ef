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
        server.AddNestPattern("orchestrator.health.check", async (_, _) =>
        {
            // Asked now (a PING), not the state the last cache call left: that was stale both ways (up while Redis was
            // down until a read failed, down after it came back until a read succeeded).
            var cacheUp = await Get<CompositeCache>().PingAsync().ConfigureAwait(false);
            return JsonSerializer.SerializeToElement(new
            {
                status = "ok", service = "orchestrator", timestamp = Get<TimeProvider>().GetUtcNow(),
                checks = new { rabbitmq = "up", redis = cacheUp ? "up" : "down" },
            });
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

        server.AddNestPattern("orchestrator.cache.invalidate", (request, _) => CacheChangeAsync(Get<CompositeCache>(), () => Get<CacheInvalidation>().InvalidateAsync(request.Data)));
        server.AddNestPattern("orchestrator.cache.clear", (_, _) => CacheChangeAsync(Get<CompositeCache>(), () => Get<CacheInvalidation>().ClearAsync()));
        foreach (var pattern in CacheInvalidation.Events)
        {
            server.AddNestEvent(pattern, (message, _) => Get<CacheInvalidation>().OnEventAsync(message.Pattern, message.Data));
        }

        return server;
    }

    /// <summary>
    /// <c>{"invalidated": n}</c>; a bad request is the read patterns' validation error, and a Redis that did not answer an
    /// error saying so (before, <c>{"invalidated": 0}</c>, the same as nothing to drop).
    /// </summary>
    private static async Task<JsonElement?> CacheChangeAsync(CompositeCache cache, Func<Task<long>> change)
    {
        long removed;
        try
        {
            removed = await change().ConfigureAwait(false);
        }
        catch (ReadRejectedException ex)
        {
            throw new NestRpcException(ex.Error);
        }

        // The change's own Redis calls set IsDown when they could not be made.
        return removed == 0 && cache.IsDown
            ? throw new NestRpcException(JsonSerializer.SerializeToElement(new
            {
                status = "error", statusCode = 503, message = "the cache (Redis) did not answer: nothing was invalidated",
            }))
            : JsonSerializer.SerializeToElement(new { invalidated = removed });
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
        catch (RabbitMqUnavailableException ex)
        {
            // The connection to the broker dropped while the read waited for a service (before: the generic "Internal
            // server error" reply, logged with a stack trace). A read changes nothing: the caller may simply send it again.
            throw new NestRpcException(JsonSerializer.SerializeToElement(new
            {
                status = "error", statusCode = 503, message = "the connection to RabbitMQ dropped while reading; send the request again: " + ex.Message,
            }));
        }
    }
}
