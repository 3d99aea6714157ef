return await Baton.Server.BatonServer.RunAsync(
    args,
    [
        new Baton.Apps.CatalogSync.CatalogSyncApp(),
        new Baton.Apps.ReviewGateway.ReviewGatewayApp(),
        new Baton.Apps.BrandInsights.BrandInsightsApp(),
        new Baton.Apps.DoctorOnboarding.DoctorOnboardingApp(),
    ],
    Baton.Samples.Demo.DoctorOnboardingDemo.Add);
