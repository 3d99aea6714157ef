using System.Text.Json;
using Baton.Simulators.DoctorServices;

namespace Baton.Apps.DoctorOnboarding.Tests.Infrastructure;

/// <summary>
/// The simulators called in-process, for the saga and cache tests that test the app's logic (the calls through the real
/// broker are tested by the Messaging tests): a simulated error reply becomes <see cref="ServiceCallException"/> with
/// the error payload the NestJS reply would carry.
/// </summary>
internal sealed class DirectDoctorServices(DoctorServicesSimulator simulator) : IDoctorServices
{
    public async Task<JsonElement?> SendAsync(DoctorService service, string pattern, object? data, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var input = JsonSerializer.SerializeToElement(data);
        try
        {
            var reply = await simulator.HandleAsync(pattern, input, cancellationToken);
            return reply is null ? null : JsonSerializer.SerializeToElement(reply);
        }
        catch (SimulatedServiceException ex)
        {
            throw new ServiceCallException(service, pattern, JsonSerializer.SerializeToElement(ex.ToError()));
        }
    }
}
