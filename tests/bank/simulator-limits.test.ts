/**
 * The bank simulator stays small: it keeps only the newest accounts, answers and ledger entries, and
 * throttles a flood from one address (a demo's worker never comes near the budget).
 */
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import problems from '#api/plugins/app/problems.js';
import bankSimulator, { createBankSimulatorState } from '#simulators/bank.js';

let app: FastifyInstance;
const state = createBankSimulatorState();

beforeAll(async () => {
  app = Fastify({ logger: false });
  await app.register(problems);
  await app.register(rateLimit, { max: 1_000_000, timeWindow: 60_000 });
  await app.register(bankSimulator, {
    prefix: '/sim/bank',
    state,
    limits: { accounts: 2, answers: 3, ledger: 3 },
    rateLimitPerMinute: 8,
  });
});
afterAll(() => app?.close());

const seed = (account: string) =>
  app.inject({ method: 'POST', url: '/sim/bank/accounts', payload: { bank: 'ICBC', account, balanceFen: 100 } });
const stop = (n: number) =>
  app.inject({
    method: 'POST',
    url: '/sim/bank/gateway/stop-payments',
    payload: { instructionId: `i-${n}`, bank: 'ICBC', account: `62220000${n}`, amountFen: 100 },
  });

describe('the bank simulator’s bounds', () => {
  it('keeps the newest accounts, answers and ledger entries only, numbering the ledger on', async () => {
    for (const account of ['6222000001', '6222000002', '6222000003'])
      expect((await seed(account)).statusCode).toBe(201);
    expect([...state.accounts.keys()].map((k) => k.split('\u0000')[1])).toEqual(['6222000002', '6222000003']);
    for (let n = 1; n <= 4; n++) expect((await stop(n)).statusCode).toBe(200);
    expect([...state.answers.keys()]).toEqual(['i-2', 'i-3', 'i-4']);
    expect(state.ledger.map((e) => e.seq)).toEqual([2, 3, 4]);
  });

  it('throttles one address past its budget', async () => {
    const ledger = () => app.inject({ method: 'GET', url: '/sim/bank/ledger' });
    for (let n = 1; n <= 8; n++) expect((await ledger()).statusCode, `request ${n}`).toBe(200);
    const refused = await ledger();
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBeDefined();
  });
});
