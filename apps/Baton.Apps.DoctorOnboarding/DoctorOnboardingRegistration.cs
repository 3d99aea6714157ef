using Baton.Apps.DoctorOnboarding.Cache;
using Baton.Apps.DoctorOnboarding.Composition;
using Baton.Apps.DoctorOnboarding.Saga;
using Baton.Hosting;
using Baton.Workflows;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Apps.DoctorOnboarding;

/// <summary>
/// Registers the app's parts that do not depend on the transport: the three saga workflows, the cache, the composite
/// reader. The host adds an <see cref="IDoctorServices"/> (the RabbitMQ clients in the app; tests may add another).
/// </summary>
public static class DoctorOnboardingRegistration
{
    public static BatonBuilder AddDoctorOnboardingCore(this BatonBuilder baton, DoctorOptions options)
    {
        ArgumentNullException.ThrowIfNull(baton);
        ArgumentNullException.ThrowIfNull(options);
        var services = baton.Services;
        services.AddSingleton(options);
        services.AddDataProtection();
        services.AddSingleton<CompositeCache>();
        services.AddSingleton<Baton.Server.Views.IDoctorOnboardingView, DoctorDashboardView>();
        services.AddSingleton<CompositeReader>();
        services.AddSingleton<CacheInvalidation>();
        services.AddSingleton<SagaCalls>();
        void Saga(WorkflowOptions o, string description)
        {
            o.Description = description;
            o.RunTimeout = options.SagaTimeout;
            // What the compensations get (they run with the workflow's defaults); the forward steps set their own.
            o.Retry = SagaCalls.CompensationRetry;
            o.StepTimeout = options.CompensationTimeout;
        }

        baton.AddWorkflow<CreateDoctorSaga>(CreateDoctorSaga.Name, o => Saga(o, "Creates a doctor: account, profile, permissions, with compensation (seed 004)"));
        baton.AddWorkflow<UpdateDoctorSaga>(UpdateDoctorSaga.Name, o => Saga(o, "Updates a doctor's account and profile, with compensation (seed 004)"));
        baton.AddWorkflow<DeleteDoctorSaga>(DeleteDoctorSaga.Name, o => Saga(o, "Deletes a doctor: profile, then account, with compensation (seed 004)"));
        return baton;
    }
}
