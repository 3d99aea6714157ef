using System.Text.Json;
using Baton.Apps.DoctorOnboarding.Contracts;

namespace Baton.Apps.DoctorOnboarding;

/// <summary>The two services the orchestrator calls.</summary>
public enum DoctorService
{
    Accounts,
    ProviderDirectory,
}

/// <summary>A service answered a call with an error (the <c>err</c> of its NestJS reply).</summary>
public sealed class ServiceCallException(DoctorService service, string pattern, JsonElement error)
    : Exception(DoctorErrors.MessageOf(error))
{
    public DoctorService Service { get; } = service;
    public string Pattern { get; } = pattern;
    public JsonElement Error { get; } = error.Clone();
    public bool IsNotFound => DoctorErrors.IsNotFound(Error);
}

/// <summary>
/// Request/reply with the two services: the app's sagas and reads are written against this; the RabbitMQ transport's
/// NestJS clients implement it (<see cref="Messaging.NestDoctorServices"/>). An error reply throws
/// <see cref="ServiceCallException"/>; no reply within <paramref name="timeout"/> throws <see cref="TimeoutException"/>.
/// </summary>
public interface IDoctorServices
{
    Task<JsonElement?> SendAsync(DoctorService service, string pattern, object? data, TimeSpan timeout, CancellationToken cancellationToken = default);
}
