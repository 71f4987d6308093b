/**
 * Every page of every role, with something on it, in Chinese and in English, on a desktop and on a
 * 360 px phone: the axe scan is clean (every control has an accessible name), nothing scrolls
 * sideways, and each view is kept as a screenshot (screenshots/tour-*.png) for a person to look at.
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertApi, newAlert, waitFor } from '../helpers/alerts.js';
import {
  expectAccessible,
  expectNoSidewaysScroll,
  launchBrowser,
  newPerson,
  screenshot,
  signInWithToken,
} from '../helpers/browser.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';
import { caseWhen, newFiling, stopPaymentApi } from '../helpers/stop-payments.js';

let stack: Stack;
let browser: Browser;
let stopPaymentId: string;
const contexts: BrowserContext[] = [];
const people: Record<string, { caller: Caller; pages: string[] }> = {};

beforeAll(async () => {
  [stack, browser] = await Promise.all([
    startStack({
      policy: { alert: { maxCallAttempts: 1, visitOnUnreachable: { high: true, medium: true, low: true } } },
    }),
    launchBrowser(),
  ]);
  const [platform, operator, station, calltaker, approver, senior, admin, supervisor, auditor] = await Promise.all([
    stack.user(['platform']),
    stack.user(['operator'], { name: '王接线员' }),
    stack.user(['station'], { name: '张警官', stationId: 'haibowan-01' }),
    stack.user(['calltaker'], { name: '陈接警员' }),
    stack.user(['approver'], { name: '李审批' }),
    stack.user(['senior_approver'], { name: '刘局' }),
    stack.user(['admin'], { name: '系统管理员 周' }),
    stack.user(['supervisor'], { name: '值班长 马' }),
    stack.user(['auditor'], { name: '审计员 郑' }),
  ]);
  // Something on every page: queued alerts, one held, a visit, a case pending and one with money held.
  const alerts = alertApi(stack);
  for (const risk of ['high', 'medium', 'low'] as const) await alerts.ingest(platform, newAlert({ riskLevel: risk }));
  const visit = newAlert({ victim: { phone: '13700001234', name: '赵女士' } });
  await alerts.ingest(platform, visit);
  await alerts.claim(operator, visit.alertId);
  await alerts.callResult(operator, visit.alertId, { result: 'not_reached', reason: 'no_answer' });
  await waitFor('the visit', async () => (await alerts.get(station, visit.alertId)).json().state === 'visit_pending');
  expect((await alerts.next(operator)).statusCode).toBe(200);
  const cases = stopPaymentApi(stack);
  await cases.file(calltaker, newFiling([{ amountFen: 500_000 }]));
  stopPaymentId = (
    await cases.file(calltaker, newFiling([{ amountFen: 900_000 }, { bank: 'CCB', amountFen: 120_000 }]))
  ).json().stopPaymentId;
  await cases.approve(approver, stopPaymentId, { note: '同意' });
  await caseWhen(
    stack,
    stopPaymentId,
    (v) => v.holds.length === 2 && v.holds.every((h) => h.state === 'stopped'),
    'the stops',
  );
  Object.assign(people, {
    operator: { caller: operator, pages: ['/operator'] },
    station: { caller: station, pages: ['/station'] },
    calltaker: { caller: calltaker, pages: ['/calltaker', `/cases/${stopPaymentId}`, '/search'] },
    approver: { caller: approver, pages: ['/approver', `/cases/${stopPaymentId}`] },
    senior: { caller: senior, pages: ['/senior', `/cases/${stopPaymentId}`, `/cases/${stopPaymentId}/notice`] },
    admin: { caller: admin, pages: ['/admin', '/access-log'] },
    auditor: { caller: auditor, pages: ['/audit', `/audit/workflows/stoppay-${stopPaymentId}`] },
    supervisor: {
      caller: supervisor,
      pages: ['/board', '/search?phone=13700001234', '/station', '/stats', '/alerts?overdue=true'],
    },
  });
});
afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await stack?.close();
});

describe('a tour of the console', () => {
  for (const role of ['operator', 'station', 'calltaker', 'approver', 'senior', 'admin', 'supervisor', 'auditor'])
    for (const language of ['zh-CN', 'en'] as const)
      it(`as the ${role}, in ${language}, on a desktop and a phone`, async () => {
        const { caller, pages } = people[role]!;
        for (const [device, viewport] of [
          ['desktop', { width: 1280, height: 900 }],
          ['phone', { width: 360, height: 780 }],
        ] as const) {
          const context = await newPerson(browser, stack.baseUrl, language, viewport);
          contexts.push(context);
          const page = await context.newPage();
          await signInWithToken(page, caller.token);
          for (const [i, path] of pages.entries()) {
            await page.goto(path);
            expect(await page.locator('html').getAttribute('lang')).toBe(language);
            await expectAccessible(page);
            if (device === 'phone') await expectNoSidewaysScroll(page);
            await screenshot(page, `tour-${role}-${i}-${language}-${device}`);
          }
        }
      });
});
