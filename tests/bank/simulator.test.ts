/**
 * The bank simulator over real HTTP, through the gateway client the activities use: the contract's
 * money semantics, one effect per instruction ID, and faults surfacing as the right Temporal failures.
 */
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBankGateway, type BankGateway } from '#activities/bank-gateway.js';
import problems from '#api/plugins/app/problems.js';
import bankSimulator from '#simulators/bank.js';

let app: FastifyInstance;
let baseUrl: string;
let bank: BankGateway;
let n = 0;
/** Fresh IDs per test, since the simulator is shared by the file. */
const id = (label: string) => `${label}-${++n}`;
const acct = () => String(6_222_000_000 + ++n);

beforeAll(async () => {
  // Same validation options as the API, so the simulator behaves here as it does when embedded.
  app = Fastify({
    logger: false,
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  });
  await app.register(problems);
  await app.register(bankSimulator, { prefix: '/sim/bank' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/sim/bank`;
  bank = createBankGateway({ baseUrl });
});
afterAll(() => app?.close());
beforeEach(async () => {
  await control('POST', '/faults', { failNext: 0 });
});

async function control(method: 'GET' | 'POST', path: string, body?: unknown) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as any };
}

async function seed(account: string, balanceFen: number, extra: Record<string, unknown> = {}) {
  const seeded = await control('POST', '/accounts', { bank: 'ICBC', account, balanceFen, ...extra });
  expect(seeded.status).toBe(201);
  return seeded.body;
}

const balance = async (account: string) =>
  (await control('GET', `/accounts/ICBC/${account}`)).body.balanceFen as number;
const ledgerFor = async (instructionId: string) =>
  ((await control('GET', '/ledger')).body.items as any[]).filter((e) => e.instructionId === instructionId);

/** The ApplicationFailure a call rejects with. */
async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

describe('bank simulator: stop-payments', () => {
  const onward = [
    { bank: 'CMB', account: '6214000011112222', amountFen: 300_000 },
    { bank: 'ABC', account: '6228000033334444', amountFen: 150_000 },
  ];

  it('stops the whole amount when the balance covers it, lowers the balance and lists onward transfers', async () => {
    const account = acct();
    expect(await seed(account, 1_000_000, { onward })).toEqual({
      bank: 'ICBC',
      account,
      balanceFen: 1_000_000,
      onward,
      exists: true,
    });
    const answer = await bank.stopPayment({
      instructionId: id('stop'),
      bank: 'ICBC',
      account,
      amountFen: 400_000,
      legalDocRef: 'JZ-2026-001',
    });
    expect(answer).toEqual({ status: 'stopped', stoppedFen: 400_000, onward });
    expect(await balance(account)).toBe(600_000);
  });

  it('holds what is left as partial, then answers empty once the balance is gone', async () => {
    const account = acct();
    await seed(account, 250_000, { onward });
    expect(await bank.stopPayment({ instructionId: id('stop'), bank: 'ICBC', account, amountFen: 400_000 })).toEqual({
      status: 'partial',
      stoppedFen: 250_000,
      onward,
    });
    expect(await balance(account)).toBe(0);
    expect(await bank.stopPayment({ instructionId: id('stop'), bank: 'ICBC', account, amountFen: 100_000 })).toEqual({
      status: 'empty',
      stoppedFen: 0,
      onward,
    });
  });

  it('holds whatever is asked of an account never seeded, with no onward transfers', async () => {
    expect(
      await bank.stopPayment({ instructionId: id('stop'), bank: 'BOC', account: acct(), amountFen: 123_456 }),
    ).toEqual({
      status: 'stopped',
      stoppedFen: 123_456,
      onward: [],
    });
  });

  it('answers not_found for an account the bank does not know (seeded with exists: false)', async () => {
    const account = acct();
    await seed(account, 1_000_000, { onward, exists: false });
    expect(await bank.stopPayment({ instructionId: id('stop'), bank: 'ICBC', account, amountFen: 100 })).toEqual({
      status: 'not_found',
      stoppedFen: 0,
      onward: [],
    });
    expect((await bank.freeze({ instructionId: id('freeze'), bank: 'ICBC', account, amountFen: 100 })).status).toBe(
      'not_found',
    );
  });
});

describe('bank simulator: one effect per instruction ID', () => {
  it('applies a repeated instruction once and returns the first answer unchanged', async () => {
    const account = acct();
    await seed(account, 500_000);
    const instr = { instructionId: id('stop'), bank: 'ICBC', account, amountFen: 300_000 };
    const first = await bank.stopPayment(instr);
    const second = await bank.stopPayment(instr);
    expect(first).toEqual({ status: 'stopped', stoppedFen: 300_000, onward: [] });
    expect(second).toEqual(first);
    expect(await balance(account)).toBe(200_000);
    const entries = await ledgerFor(instr.instructionId);
    expect(entries.map((e) => e.outcome)).toEqual(['applied', 'replayed']);
    expect(entries[1].answer).toEqual(first);
    expect(entries[1].seq).toBeGreaterThan(entries[0].seq);
  });

  it('refuses the same instruction ID with a different body (409) and changes nothing', async () => {
    const account = acct();
    await seed(account, 500_000);
    const instructionId = id('stop');
    await bank.stopPayment({ instructionId, bank: 'ICBC', account, amountFen: 100_000 });
    const raw = await control('POST', '/gateway/stop-payments', {
      instructionId,
      bank: 'ICBC',
      account,
      amountFen: 200_000,
    });
    expect(raw.status).toBe(409);
    expect(raw.type).toMatch(/^application\/problem\+json/);
    expect(raw.body.code).toBe('conflict');
    const rejected = await failure(bank.stopPayment({ instructionId, bank: 'ICBC', account, amountFen: 200_000 }));
    expect(rejected.type).toBe('bank_rejected');
    expect(rejected.nonRetryable).toBe(true);
    // The same ID on another action is another body too.
    expect((await failure(bank.freeze({ instructionId, bank: 'ICBC', account, amountFen: 100_000 }))).type).toBe(
      'bank_rejected',
    );
    expect(await balance(account)).toBe(400_000);
  });
});

describe('bank simulator: faults', () => {
  it('fails the next N calls with a retryable failure, applies nothing for them, then succeeds once', async () => {
    const account = acct();
    await seed(account, 500_000);
    expect((await control('POST', '/faults', { failNext: 2 })).body).toEqual({ failNext: 2, latencyMs: 0 });
    const instr = { instructionId: id('stop'), bank: 'ICBC', account, amountFen: 200_000 };
    for (let attempt = 1; attempt <= 2; attempt++) {
      const error = await failure(bank.stopPayment(instr));
      expect(error.type).toBe('bank_unavailable');
      expect(error.nonRetryable).toBe(false);
      expect(error.message).toContain('503');
      expect(await balance(account)).toBe(500_000);
    }
    expect(await bank.stopPayment(instr)).toEqual({ status: 'stopped', stoppedFen: 200_000, onward: [] });
    expect(await balance(account)).toBe(300_000);
    const entries = await ledgerFor(instr.instructionId);
    expect(entries.map((e) => e.outcome)).toEqual(['failed', 'failed', 'applied']);
    expect(entries[0].answer).toBeUndefined();
  });

  it('answers 503 as problem+json while failing', async () => {
    await control('POST', '/faults', { failNext: 1 });
    const raw = await control('POST', '/gateway/freezes', {
      instructionId: id('freeze'),
      bank: 'ICBC',
      account: acct(),
      amountFen: 1,
    });
    expect(raw.status).toBe(503);
    expect(raw.type).toMatch(/^application\/problem\+json/);
    expect(raw.body.code).toBe('unavailable');
  });

  it('turns a bank slower than the client timeout into a retryable failure, and the retry is safe', async () => {
    const account = acct();
    await seed(account, 500_000);
    await control('POST', '/faults', { failNext: 0, latencyMs: 400 });
    const impatient = createBankGateway({ baseUrl, timeoutMs: 100 });
    const instr = { instructionId: id('stop'), bank: 'ICBC', account, amountFen: 100_000 };
    const error = await failure(impatient.stopPayment(instr));
    expect(error.type).toBe('bank_unavailable');
    expect(error.nonRetryable).toBe(false);
    expect(error.message).toContain('timed out after 100 ms');
    // The slow bank still applied it; a patient retry of the same instruction holds nothing more.
    const answer = await bank.stopPayment(instr);
    expect(answer).toEqual({ status: 'stopped', stoppedFen: 100_000, onward: [] });
    expect(await balance(account)).toBe(400_000);
    expect((await ledgerFor(instr.instructionId)).map((e) => e.outcome)).toEqual(['applied', 'replayed']);
  });

  it('treats an unreachable gateway as retryable', async () => {
    const closed = Fastify({ logger: false });
    await closed.listen({ port: 0, host: '127.0.0.1' });
    const port = (closed.server.address() as AddressInfo).port;
    await closed.close();
    const error = await failure(
      createBankGateway({ baseUrl: `http://127.0.0.1:${port}/sim/bank` }).release({
        instructionId: id('rel'),
        bank: 'ICBC',
        account: acct(),
      }),
    );
    expect(error.type).toBe('bank_unavailable');
    expect(error.nonRetryable).toBe(false);
  });
});

describe('bank simulator: validation and other actions', () => {
  it('refuses a bad body with a 400 naming the fields, which the client reports as non-retryable', async () => {
    const raw = await control('POST', '/gateway/stop-payments', {
      instructionId: '',
      bank: 'ICBC',
      account: '12ab',
      amountFen: 1.5,
      extra: 1,
    });
    expect(raw.status).toBe(400);
    expect(raw.type).toMatch(/^application\/problem\+json/);
    expect(raw.body.code).toBe('validation_failed');
    expect(raw.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual([
      '/account',
      '/amountFen',
      '/extra',
      '/instructionId',
    ]);

    const error = await failure(
      bank.stopPayment({ instructionId: id('stop'), bank: 'ICBC', account: 'not-digits', amountFen: 100 }),
    );
    expect(error.type).toBe('bank_rejected');
    expect(error.nonRetryable).toBe(true);
    expect(error.message).toContain('400');
    // A stop-payment must say how much to hold.
    expect((await failure(bank.stopPayment({ instructionId: id('stop'), bank: 'ICBC', account: acct() }))).type).toBe(
      'bank_rejected',
    );
    const seeded = await control('POST', '/accounts', { bank: 'ICBC', account: acct(), balanceFen: -1 });
    expect(seeded.status).toBe(400);
    expect((await control('POST', '/faults', { failNext: 10_001 })).status).toBe(400);
  });

  it('answers freezes, renewals and releases, echoing the amount when one is given', async () => {
    const account = acct();
    await seed(account, 900_000);
    const base = { bank: 'ICBC', account, legalDocRef: 'DJ-2026-17' };
    expect(await bank.freeze({ ...base, instructionId: id('freeze'), amountFen: 400_000 })).toEqual({
      status: 'frozen',
      amountFen: 400_000,
    });
    expect(await bank.renew({ ...base, instructionId: id('renew') })).toEqual({ status: 'renewed' });
    expect(await bank.release({ ...base, instructionId: id('release'), amountFen: 400_000 })).toEqual({
      status: 'released',
      amountFen: 400_000,
    });
    expect(await bank.freeze({ instructionId: id('freeze'), bank: 'BOC', account: acct() })).toEqual({
      status: 'frozen',
    });
    // Freezes do not move the simulated balance; only stops do.
    expect(await balance(account)).toBe(900_000);
  });

  it('lists every instruction received, in order, with its action and outcome', async () => {
    const account = acct();
    const stopId = id('stop');
    const freezeId = id('freeze');
    await bank.stopPayment({ instructionId: stopId, bank: 'ICBC', account, amountFen: 10 });
    await bank.freeze({ instructionId: freezeId, bank: 'ICBC', account, amountFen: 10, legalDocRef: 'DJ-1' });
    const items = (await control('GET', '/ledger')).body.items as any[];
    const mine = items.filter((e) => e.account === account);
    expect(mine).toMatchObject([
      {
        action: 'stop-payments',
        instructionId: stopId,
        bank: 'ICBC',
        amountFen: 10,
        outcome: 'applied',
        answer: { status: 'stopped', stoppedFen: 10 },
      },
      {
        action: 'freezes',
        instructionId: freezeId,
        legalDocRef: 'DJ-1',
        outcome: 'applied',
        answer: { status: 'frozen', amountFen: 10 },
      },
    ]);
    expect(new Date(mine[0].at).getTime()).not.toBeNaN();
    expect(items.map((e) => e.seq)).toEqual(items.map((_, i) => i + 1));
  });

  it('keeps state per plugin instance', async () => {
    const other = Fastify({ logger: false });
    await other.register(problems);
    await other.register(bankSimulator, { prefix: '/sim/bank' });
    try {
      expect((await other.inject({ method: 'GET', url: '/sim/bank/ledger' })).json()).toEqual({ items: [] });
    } finally {
      await other.close();
    }
  });
});
