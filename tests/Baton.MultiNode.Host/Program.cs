// A Baton node for the multi-node tests: the real server (configured by the same environment variables) with
// the test workflows added. Side effects go to the database named by MULTINODE_EFFECTS.
using Baton.MultiNode.Host;
using Baton.Server;

return await BatonServer.RunAsync(args, configure: TestWorkflows.Add);
