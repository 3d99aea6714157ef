using Baton.Server.Views;

namespace Baton.Apps.DoctorOnboarding.Cache;

/// <summary>The dashboard's view of the composite cache.</summary>
internal sealed class DoctorDashboardView(CompositeCache cache) : IDoctorOnboardingView
{
    public DoctorCacheView Cache() => new(cache.Hits, cache.Misses, cache.IsDown);
}
