/**
 * Search across cases, through the JSON API against a real stack: by victim phone, every alert and case
 * of that person, newest first; by receiving account, every case that sent money to it and the stops
 * the banks made on it. Scoped and masked like the lists, refused to the roles that may not ask, and
 * written to the access log (where the admin sees a searched phone masked).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertApi, newAlert, readModelRow, waitFor } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';
import { account, caseWhen, newFiling, stopPaymentApi } from '../helpers/stop-payments.js';

let stack: Stack;
let platform: Caller, supervisor: Caller, auditor: Caller, admin: Caller, station: Caller, operator: Caller;
let filerA: Caller, filerB: Caller, approver: Caller;

const PHONE = '13566667777';
const MULE = account();

const search = (caller: Caller, query: string) => stack.request(caller, { method: 'GET', url: `/v1/search?${query}` });

beforeAll(async () => {
  stack = await startStack();
  [platform, supervisor, auditor, admin, station, operator, filerA, filerB, approver] = await Promise.all([
    stack.user(['platform']),
    stack.user(['supervisor']),
    stack.user(['auditor']),
    stack.user(['admin']),
    stack.user(['station'], { stationId: 'jimei-01' }),
    stack.user(['operator']),
    stack.user(['calltaker'], { name: '接警员 甲' }),
    stack.user(['calltaker'], { name: '接警员 乙' }),
    stack.user(['approver']),
  ]);
});
afterAll(() => stack?.close());

describe('search', () => {
  it('finds every alert and case of a victim phone, newest first, masked', async () => {
    const earlier = newAlert({ victim: { phone: PHONE, name: '吴女士' }, stationId: 'jimei-01' });
    const later = newAlert({ victim: { phone: PHONE, name: '吴女士' }, stationId: 'siming-02' });
    const stranger = newAlert({ victim: { phone: '13500000000', name: '别人' } });
    for (const alert of [earlier, later, stranger]) {
      expect((await alertApi(stack).ingest(platform, alert)).statusCode).toBe(201);
      await readModelRow(stack, alert.alertId);
    }
    const filed = await stopPaymentApi(stack).file(
      filerA,
      newFiling([{}], { victim: { name: '吴女士', phone: PHONE } }),
    );
    // In the read model (search reads it), not merely started.
    await waitFor(
      'the case projected',
      async () => (await search(supervisor, `phone=${PHONE}`)).json().stopPayments?.length === 1,
    );

    for (const reader of [supervisor, auditor]) {
      const found = await search(reader, `phone=${PHONE}`);
      expect(found.statusCode, found.body).toBe(200);
      const answer = found.json();
      expect(answer.alerts.map((a: { alertId: string }) => a.alertId)).toEqual([later.alertId, earlier.alertId]);
      expect(answer.alerts.every((a: { victim: { phone: string } }) => a.victim.phone === '135****7777')).toBe(true);
      expect(answer.stopPayments.map((c: { stopPaymentId: string }) => c.stopPaymentId)).toEqual([
        filed.json().stopPaymentId,
      ]);
      expect(answer.stopPayments[0].victim.phone).toBe('135****7777');
    }
  });

  it('finds the cases that sent money to one account, and the stops made on it; a call-taker sees only their own', async () => {
    const first = (await stopPaymentApi(stack).file(filerA, newFiling([{ account: MULE, amountFen: 800_000 }]))).json();
    const second = (
      await stopPaymentApi(stack).file(
        filerB,
        newFiling([{ account: account() }, { account: MULE, amountFen: 50_000 }]),
      )
    ).json();
    await stopPaymentApi(stack).approve(approver, first.stopPaymentId, {});
    await caseWhen(stack, first.stopPaymentId, (v) => v.holds.some((h) => h.state === 'stopped'), 'the stop');
    await caseWhen(stack, second.stopPaymentId, () => true, 'the second case');

    const everyone = (await search(supervisor, `account=${MULE}`)).json();
    expect(everyone.stopPayments.map((c: { stopPaymentId: string }) => c.stopPaymentId)).toEqual([
      second.stopPaymentId,
      first.stopPaymentId,
    ]);
    expect(everyone.account).toEqual({ account: MULE, cases: 2, stopsMade: 1 });
    expect(everyone.alerts).toEqual([]);

    const own = (await search(filerB, `account=${MULE}`)).json();
    expect(own.stopPayments.map((c: { stopPaymentId: string }) => c.stopPaymentId)).toEqual([second.stopPaymentId]);
    expect(own.account).toEqual({ account: MULE, cases: 2, stopsMade: 1 });
    // The filer sees their own victim in full, as in their list.
    expect(own.stopPayments[0].victim.phone).toBe('13812345678');
  });

  it('refuses the roles that may not ask, and a question that is not exactly one phone or one account', async () => {
    expect((await search(station, `phone=${PHONE}`)).statusCode).toBe(403);
    expect((await search(operator, `account=${MULE}`)).statusCode).toBe(403);
    expect((await search(filerA, `phone=${PHONE}`)).statusCode).toBe(403);
    expect((await search(admin, `phone=${PHONE}`)).statusCode).toBe(403);
    for (const query of ['', `phone=${PHONE}&account=${MULE}`, 'phone=12345', 'account=12ab', 'name=x']) {
      const refused = await search(supervisor, query);
      expect(refused.statusCode, query).toBe(400);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it('writes every search to the access log, where the admin sees a searched phone masked', async () => {
    const log = await stack.request(admin, { method: 'GET', url: '/v1/audit/access-log?limit=100' });
    expect(log.statusCode, log.body).toBe(200);
    const searches = log
      .json()
      .items.filter((e: { action: string }) => e.action.startsWith('search_'))
      .map((e: { userId: string; action: string; subject: string }) => [e.userId, e.action, e.subject]);
    expect(searches).toEqual(
      expect.arrayContaining([
        [supervisor.user.userId, 'search_phone', '135****7777'],
        [auditor.user.userId, 'search_phone', '135****7777'],
        [filerB.user.userId, 'search_account', MULE],
      ]),
    );
    expect(JSON.stringify(log.json())).not.toContain(PHONE);
  });
});
