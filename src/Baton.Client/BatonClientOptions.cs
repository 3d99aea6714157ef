namespace Baton.Client;

/// <summary>Where the Baton server is and how to reach it.</summary>
public sealed class BatonClientOptions
{
    /// <summary>The server's base address, e.g. <c>http://127.0.0.1:8080/</c> or <c>https://ops.example/baton/</c> behind a path prefix (a missing final '/' is added). Required.</summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>The admin key, sent as <c>X-ADMIN-KEY</c> on every request. The default is none.</summary>
    public string? AdminKey { get; set; }

    /// <summary>How often <see cref="BatonApiClient.WaitAsync"/> reads a run that has not finished. The default is 500 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The clock <see cref="BatonApiClient.WaitAsync"/> waits on between reads. The default is <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
