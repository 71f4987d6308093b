/**
 * The bank simulator as a process of its own (`npm run cluster` without BANK_GATEWAY_URL): its ledger
 * outlives API and worker restarts, which a simulator inside an API process cannot. The same plugin as
 * the embedded system's /sim/bank, under the same prefix: BANK_GATEWAY_URL=http://host:port/sim/bank.
 */
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import closeWithGrace from 'close-with-grace';
import Fastify from 'fastify';
import problems from '#api/plugins/app/problems.js';
import bankSimulator from '#simulators/bank.js';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';

const app = Fastify({
  logger: { level: process.env.FANZHA_LOG_LEVEL ?? 'warn' },
}).withTypeProvider<TypeBoxTypeProvider>();
await app.register(problems);
await app.register(rateLimit, { global: false });
await app.register(bankSimulator, { prefix: '/sim/bank' });
app.get('/healthz', async () => ({ status: 'ok' }));

closeWithGrace({ delay: 5_000 }, async () => {
  await app.close();
});
const address = await app.listen({ host, port });
app.log.warn(`the bank simulator answers every bank instruction at ${address}/sim/bank: no real bank learns of a stop`);
