using Microsoft.Extensions.Hosting;

namespace Baton.Apps.DoctorOnboarding.Messaging;

/// <summary>
/// The built service provider for the NestJS handlers, which are registered while services are still being configured
/// (the transport's handlers take no provider). Set when the host resolves its hosted services, before any starts.
/// </summary>
internal sealed class ProviderHandle
{
    private IServiceProvider? _provider;

    public IServiceProvider Provider => _provider ?? throw new InvalidOperationException("the host has not been built yet");

    internal sealed class Setter : IHostedService
    {
        public Setter(ProviderHandle handle, IServiceProvider provider) => handle._provider = provider;

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
