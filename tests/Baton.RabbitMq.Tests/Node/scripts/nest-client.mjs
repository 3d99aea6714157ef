// The real NestJS ClientRMQ (ClientProxyFactory, Transport.RMQ) calling a Baton server.
// Usage: node nest-client.mjs AMQP_URL QUEUE   -> prints one JSON line with every outcome.
import 'reflect-metadata';
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';

const [url, queue] = process.argv.slice(2);
const client = ClientProxyFactory.create({
  transport: Transport.RMQ,
  options: { urls: [url], queue, queueOptions: { durable: true } },
});
await client.connect();
const settle = async (observable) => {
  try {
    return { response: await firstValueFrom(observable) };
  } catch (err) {
    return { err };
  }
};
const results = {
  string: await settle(client.send('compat.sum', { a: 2, b: 3 })),
  object: await settle(client.send({ role: 'math', cmd: 'mul' }, { a: 4, b: 5 })),
  unknown: await settle(client.send('compat.unknown', {})),
  rpcError: await settle(client.send('compat.fail', {})),
  run: await settle(client.send('compat.run', { value: 21 })),
};
await firstValueFrom(client.emit('compat.event', { note: 'hello from nest' }));
console.log(JSON.stringify(results));
await client.close();
