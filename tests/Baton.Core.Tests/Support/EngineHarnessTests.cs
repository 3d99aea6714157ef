namespace Baton.Core.Tests.Support;

/// <summary>The harness's own cleanup: a test leaves nothing of its database in the temp folder.</summary>
public sealed class EngineHarnessTests
{
    // Before: the SQLite store's owner lock ({database}.lock, left in place by the store on purpose) stayed behind after
    // every test: 17,971 baton-test-*.db.lock files had piled up in /tmp on the review machine.
    [Fact]
    public async Task DisposeAsync_OwnDatabaseOpened_NoFileOfItLeft()
    {
        string path;
        await using (var harness = await EngineHarness.StartAsync(_ => { }))
        {
            path = harness.DatabasePath;
            Assert.True(File.Exists(path + ".lock"), "the store did not take its lock: the test proves nothing");
        }

        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + "*"));
    }
}
