using System.Text.Json;
using Baton.RabbitMq;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Apps.DoctorOnboarding.Messaging;

/// <summary>The two services through the RabbitMQ transport's NestJS clients (keyed <see cref="AccountsClient"/> and <see cref="DirectoryClient"/>).</summary>
internal sealed class NestDoctorServices(
    [FromKeyedServices(NestDoctorServices.AccountsClient)] INestClient accounts,
    [FromKeyedServices(NestDoctorServices.DirectoryClient)] INestClient directory) : IDoctorServices
{
    public const string AccountsClient = "doctor-onboarding.accounts";
    public const string DirectoryClient = "doctor-onboarding.provider-directory";

    public async Task<JsonElement?> SendAsync(DoctorService service, string pattern, object? data, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var client = service == DoctorService.Accounts ? accounts : directory;
        try
        {
            return await client.SendAsync(pattern, data, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (NestRpcException ex)
        {
            throw new ServiceCallException(service, pattern, ex.Error);
        }
    }
}
