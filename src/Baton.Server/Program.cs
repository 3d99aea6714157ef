return await Baton.Server.BatonServer.RunAsync(args);
