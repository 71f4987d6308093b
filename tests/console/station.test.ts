/**
 * The station officer's page in Chromium, on a 360 px phone: an alert the operator could not reach
 * twice becomes a visit that appears without a reload; the officer records it, or transfers another
 * to a different station with a reason.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertView } from '#domain/alert.js';
import { alertApi, newAlert, waitFor } from '../helpers/alerts.js';
import {
  expectAccessible,
  expectNoSidewaysScroll,
  launchBrowser,
  newPerson,
  screenshot,
  signInWithToken,
  tabTo,
} from '../helpers/browser.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';

const LIVE_MS = 10_000;
const STATION = 'haibowan-01';

let stack: Stack;
let browser: Browser;
let platform: Caller;
let operator: Caller;
let supervisor: Caller;
let officer: Page;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [stack, browser] = await Promise.all([
    startStack({
      policy: { alert: { maxCallAttempts: 2, retryDelay: { high: '300ms', medium: '300ms', low: '300ms' } } },
    }),
    launchBrowser(),
  ]);
  [platform, operator, supervisor] = await Promise.all([
    stack.user(['platform']),
    stack.user(['operator']),
    stack.user(['supervisor']),
  ]);
  const caller = await stack.user(['station'], { name: '海博湾派出所 张警官', stationId: STATION });
  const context = await newPerson(browser, stack.baseUrl, 'zh-CN', { width: 360, height: 780 });
  contexts.push(context);
  officer = await context.newPage();
  await signInWithToken(officer, caller.token);
  await officer.waitForURL('**/station');
});
afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await stack?.close();
});

const api = () => alertApi(stack);
const view = async (alertId: string) => (await api().get(supervisor, alertId)).json() as AlertView;

/** The operator calls twice and reaches nobody: the alert goes to its station for a visit. */
async function unreachable(riskLevel: 'high' | 'medium' = 'high') {
  const alert = newAlert({ riskLevel, stationId: STATION, victim: { phone: '13755556666', name: '王五' } });
  await api().ingest(platform, alert);
  for (let attempt = 0; attempt < 2; attempt++) {
    await waitFor('the alert in the queue', async () => (await view(alert.alertId)).state === 'queued');
    expect((await api().claim(operator, alert.alertId)).statusCode).toBe(200);
    expect(
      (await api().callResult(operator, alert.alertId, { result: 'not_reached', reason: 'no_answer' })).statusCode,
    ).toBe(200);
  }
  await waitFor('the visit', async () => (await view(alert.alertId)).state === 'visit_pending');
  return alert;
}

describe('the station page', () => {
  it('shows a new visit without a reload, fits a 360 px phone, and records the visit', async () => {
    expect(await officer.getByText('本所暂无待见面劝阻的预警').count()).toBe(1);
    const alert = await unreachable();
    const card = officer.locator('li', { hasText: '王五' });
    await card.waitFor({ timeout: LIVE_MS });
    // The station's own officer sees the phone in full, to go and find the person.
    expect(await card.locator('.phone').textContent()).toBe('13755556666');
    await expectNoSidewaysScroll(officer);
    await expectAccessible(officer);
    await screenshot(officer, 'station');

    // By keyboard alone, as on a phone with a keyboard: the outcome by arrow keys, then "Record visit".
    const outcome = card.getByLabel('见面结果');
    await tabTo(officer, outcome);
    for (let i = 0; i < 6 && (await outcome.inputValue()) !== 'dissuaded'; i++)
      await officer.keyboard.press('ArrowDown');
    expect(await outcome.inputValue()).toBe('dissuaded');
    await tabTo(officer, card.getByRole('button', { name: '登记见面劝阻' }));
    await officer.keyboard.press('Enter');
    await expect.poll(() => officer.locator('#visits .notice').textContent()).toContain('已登记');
    const closed = await view(alert.alertId);
    expect(closed).toMatchObject({ state: 'closed', outcome: 'dissuaded' });
    expect(closed.timeline.find((e) => e.kind === 'visit_result')?.actor?.role).toBe('station');
  });

  it('transfers a visit to another station with a reason; it leaves this station’s page', async () => {
    const alert = await unreachable('medium');
    const card = officer.locator('li', { hasText: '王五' });
    await card.waitFor({ timeout: LIVE_MS });
    await card.getByLabel('移交至派出所（编号）').fill('xinglin-02');
    await card.getByLabel('移交原因').fill('受害人已搬至杏林辖区');
    await card.getByRole('button', { name: '移交' }).click();
    await expect.poll(() => officer.locator('#visits').textContent()).toContain('本所暂无待见面劝阻的预警');
    expect(await view(alert.alertId)).toMatchObject({ state: 'visit_pending', stationId: 'xinglin-02' });
  });

  it('refuses a transfer to a malformed station code in words, and changes nothing', async () => {
    const alert = await unreachable();
    const card = officer.locator('li', { hasText: '王五' });
    await card.waitFor({ timeout: LIVE_MS });
    // The browser would stop a bad code itself; a hand-made request meets the same rule in the service.
    const csrf = await officer.locator('meta[name=csrf-token]').getAttribute('content');
    const refused = await officer.request.post(`/station/alerts/${alert.alertId}/transfer`, {
      form: { _csrf: csrf!, idempotencyKey: 'k1', stationId: 'no spaces allowed', reason: '测试' },
    });
    expect(refused.status()).toBe(400);
    expect(await refused.text()).toContain('派出所编号为 1–64 位字母、数字、_ 或 -。');
    expect((await view(alert.alertId)).stationId).toBe(STATION);
  });
});
