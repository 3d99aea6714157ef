using System.Text.Json;
using Baton.Core.Tests.Support;
using Baton.Hosting;
using Baton.Runs;
using Baton.Scheduling;
using Baton.Storage;
using Baton.Workflows;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Core.Tests.Workflows;

public sealed record OrderInput(string Tenant, int Count = 1);

public sealed record OrderOutput(int TotalCount);

internal sealed class OrderWorkflow : Workflow<OrderInput, OrderOutput>
{
    public override Task<OrderOutput> RunAsync(IWorkflowContext context, OrderInput input, CancellationToken cancellationToken) =>
        context.StepAsync("count", _ => Task.FromResult(new OrderOutput(input.Count)), cancellationToken: cancellationToken);
}

public sealed class WorkflowRegistrationTests
{
    [Fact]
    public async Task AddWorkflow_WorkflowType_InfersInputAndOutputTypes()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<OrderWorkflow>());

        var descriptor = Assert.Single(node.Services.GetRequiredService<IWorkflowCatalog>().Workflows);
        Assert.Equal("OrderWorkflow", descriptor.Name);
        Assert.Equal(typeof(OrderInput), descriptor.InputType);
        Assert.Equal(typeof(OrderOutput), descriptor.OutputType);
    }

    [Fact]
    public async Task StartRunAsync_TypedKeySelector_SecondRunOfSameTenantConflicts()
    {
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<OrderWorkflow>("order", o => o.ConcurrencyKeyFrom<OrderInput>(input => $"tenant:{input.Tenant}")),
            startServices: false);

        var first = await node.Client.StartRunAsync(new StartRunRequest { Workflow = "order", Input = Json("""{"tenant":"a"}""") });
        var second = await node.Client.StartRunAsync(new StartRunRequest { Workflow = "order", Input = Json("""{"tenant":"a","count":2}""") });
        var other = await node.Client.StartRunAsync(new StartRunRequest { Workflow = "order", Input = Json("""{"tenant":"b"}""") });

        Assert.Equal("tenant:a", first.Run!.ConcurrencyKey);
        Assert.Equal(StartRunOutcome.Conflict, second.Outcome);
        Assert.Equal(StartRunOutcome.Created, other.Outcome);
    }

    [Fact]
    public void AddWorkflow_KeySelectorOfOtherType_ThrowsNamingBothTypes()
    {
        var services = new ServiceCollection();
        var baton = services.AddBaton();

        var ex = Assert.Throws<ArgumentException>(() => baton.AddWorkflow<OrderWorkflow>("order", o => o.ConcurrencyKeyFrom<string>(s => s)));

        Assert.Contains("String", ex.Message);
        Assert.Contains("OrderInput", ex.Message);
        Assert.DoesNotContain(services, s => s.ServiceType == typeof(OrderWorkflow));
    }

    [Theory]
    [InlineData("order#v2")]
    [InlineData("a#2")]
    public void AddWorkflow_NameWithHash_ThrowsNamingTheCharacter(string name)
    {
        // Before, '#' was accepted: such a workflow could not be started as a child (its step key child:order#v2 was
        // refused at run time, failing the parent), and child:a#2 would have been the key of workflow a's second child call.
        var baton = new ServiceCollection().AddBaton();

        var ex = Assert.Throws<ArgumentException>(() => baton.AddWorkflow<OrderWorkflow>(name));

        Assert.Contains("'#'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartRunAsync_UnknownInputField_InvalidInputNamingFieldAndNothingStored()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<OrderWorkflow>("order"), startServices: false);

        var result = await node.Client.StartRunAsync(new StartRunRequest { Workflow = "order", Input = Json("""{"tenant":"a","countt":5}""") });

        Assert.Equal(StartRunOutcome.InvalidInput, result.Outcome);
        Assert.Contains("'countt'", result.Error);
        Assert.Empty((await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
    }

    [Fact]
    public async Task PutAsync_ScheduleInputWithUnknownField_RefusedNamingFieldAndNothingStored()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<OrderWorkflow>("order"), startServices: false);

        var ex = await Assert.ThrowsAsync<ScheduleValidationException>(() => node.Schedules.PutAsync(new ScheduleDefinition
        {
            Name = "nightly",
            Workflow = "order",
            Cron = "0 2 * * *",
            Input = Json("""{"tenant":"a","extra":true}"""),
        }));

        Assert.Contains("'extra'", ex.Message);
        Assert.Null(await node.Schedules.GetAsync("nightly"));
    }

    [Fact]
    public async Task RunAsync_ConfiguredJsonOptions_UsedForOutputAndStepResults()
    {
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<OrderWorkflow>("order"),
            o => o.Json = new JsonSerializerOptions(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });

        var id = await node.StartRunAsync("order", new { tenant = "a", count = 3 });
        var run = await node.WaitForAsync(id, r => r.Status == RunStatus.Succeeded);
        var step = Assert.Single(await node.Store.Steps.GetStepsAsync(id));

        Assert.Equal("""{"total_count":3}""", run.Output);
        Assert.Equal("""{"total_count":3}""", step.Result);
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();
}
