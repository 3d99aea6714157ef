// A real NestJS RMQ microservice (NestFactory.createMicroservice, Transport.RMQ, @MessagePattern/@EventPattern handlers
// applied by hand: plain JS, no TypeScript build) that Baton's INestClient calls.
// Usage: node nest-server.mjs AMQP_URL QUEUE   -> prints READY, then EVENT <json> for each event received.
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern, RpcException, Transport } from '@nestjs/microservices';

const [url, queue] = process.argv.slice(2);

class CompatController {
  sum(data) { return { sum: data.a + data.b }; }
  mul(data) { return { product: data.a * data.b }; }
  fail() { throw new RpcException({ code: 'E_FAIL', message: 'nope' }); }
  boom() { throw new Error('secret detail'); }
  event(data) { console.log('EVENT ' + JSON.stringify(data)); }
}

const decorate = (decorator, name) =>
  decorator(CompatController.prototype, name, Object.getOwnPropertyDescriptor(CompatController.prototype, name));
decorate(MessagePattern('svc.sum'), 'sum');
decorate(MessagePattern({ role: 'math', cmd: 'mul' }), 'mul');
decorate(MessagePattern('svc.fail'), 'fail');
decorate(MessagePattern('svc.boom'), 'boom');
decorate(EventPattern('svc.event'), 'event');
Controller()(CompatController);

class AppModule {}
Module({ controllers: [CompatController] })(AppModule);

const app = await NestFactory.createMicroservice(AppModule, {
  transport: Transport.RMQ,
  options: { urls: [url], queue, queueOptions: { durable: true } },
  logger: false,
});
await app.listen();
console.log('READY');
process.on('SIGTERM', async () => { await app.close(); process.exit(0); });
