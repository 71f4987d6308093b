/**
 * What a restore says of the bank instructions applied after its backup: from the gateway's ledger
 * when it keeps one; and when it keeps none, answers something else than a list, or is down, it says
 * it cannot list them — it never fails the restore it reports on.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeInstruction, instructionsAppliedSince } from '#backup/bank-ledger.js';

const TAKEN_AT = '2026-12-03T08:00:00.000Z';
const entries = [
  {
    at: '2026-12-03T07:59:59.000Z',
    action: 'stop-payments',
    instructionId: 'h-1:stop',
    bank: 'ICBC',
    account: '6222000011112222',
    amountFen: 500,
    outcome: 'applied',
  },
  {
    at: '2026-12-03T08:00:01.000Z',
    action: 'releases',
    instructionId: 'h-2:release',
    bank: 'CCB',
    account: '6217000033334444',
    amountFen: 12345,
    outcome: 'applied',
  },
  {
    at: '2026-12-03T08:00:02.000Z',
    action: 'releases',
    instructionId: 'h-2:release',
    bank: 'CCB',
    account: '6217000033334444',
    amountFen: 12345,
    outcome: 'replayed',
  },
];

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url?.startsWith('/bank/ledger'))
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: entries }));
    else if (req.url?.startsWith('/html/ledger'))
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
    else if (req.url?.startsWith('/odd/ledger'))
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"rows":[]}');
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('the bank instructions applied after a backup', () => {
  it('are the ledger’s applied entries from the backup’s time on, each shown with the account’s last digits only', async () => {
    const after = await instructionsAppliedSince(`${base}/bank`, TAKEN_AT);
    expect(after.known && after.instructions.map((e) => e.instructionId)).toEqual(['h-2:release']);
    const line = describeInstruction(entries[1]!);
    expect(line).toBe('2026-12-03T08:00:01.000Z releases h-2:release (CCB …4444, 123.45 CNY)');
    expect(line).not.toContain('6217000033334444');
  });

  it('cannot be listed, and say why, when the gateway keeps no ledger, answers no list, or is down', async () => {
    expect(await instructionsAppliedSince(`${base}/none`, TAKEN_AT)).toEqual({
      known: false,
      why: 'the bank gateway keeps no ledger to ask',
    });
    expect((await instructionsAppliedSince(`${base}/html`, TAKEN_AT)).known).toBe(false);
    expect((await instructionsAppliedSince(`${base}/odd`, TAKEN_AT)).known).toBe(false);
    const down = await instructionsAppliedSince('http://127.0.0.1:1/bank', TAKEN_AT);
    expect(down.known === false && down.why).toMatch(/did not answer/);
  });
});
