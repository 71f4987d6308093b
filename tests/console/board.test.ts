/**
 * The supervisor's board in Chromium, against a real stack with short deadlines: a new alert and its
 * escalation arrive without a reload, the escalation sounds until acknowledged (and the acknowledgement
 * clears every supervisor's banner and is kept); a supervisor takes a held alert back to the queue and
 * the operator's page shows it gone; a cancel needs a reason, refused in words without one.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertView } from '#domain/alert.js';
import { alertApi, newAlert, waitFor } from '../helpers/alerts.js';
import {
  alarms,
  expectAccessible,
  launchBrowser,
  listenForAlarms,
  newPerson,
  screenshot,
  signInWithToken,
  tabTo,
} from '../helpers/browser.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';

const LIVE_MS = 10_000;

let stack: Stack;
let browser: Browser;
let platform: Caller, operator: Caller, supervisor: Caller, colleague: Caller;
let board: Page, otherBoard: Page, desk: Page;
const contexts: BrowserContext[] = [];

async function signedIn(caller: Caller, landing: string, listen = false): Promise<Page> {
  const context = await newPerson(browser, stack.baseUrl);
  contexts.push(context);
  await context.grantPermissions(['notifications']);
  const page = await context.newPage();
  if (listen) await listenForAlarms(page);
  await signInWithToken(page, caller.token);
  await page.goto(landing);
  return page;
}

beforeAll(async () => {
  [stack, browser] = await Promise.all([
    startStack({ policy: { alert: { claimSla: { high: '2s', medium: '1h', low: '1h' } } } }),
    launchBrowser(),
  ]);
  [platform, operator, supervisor, colleague] = await Promise.all([
    stack.user(['platform']),
    stack.user(['operator'], { name: '王接线员' }),
    stack.user(['supervisor'], { name: '值班长 马' }),
    stack.user(['supervisor'], { name: '值班长 林' }),
  ]);
  board = await signedIn(supervisor, '/board', true);
  otherBoard = await signedIn(colleague, '/board');
  desk = await signedIn(operator, '/operator');
});
afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await stack?.close();
});

const view = async (alertId: string) => (await alertApi(stack).get(supervisor, alertId)).json() as AlertView;
const queued = () => board.locator('#queues [data-state="queued"] .value').textContent();

describe('the supervisor’s board', () => {
  let alertId: string;

  it('shows a new alert and its escalation without a reload, with a sound; acknowledging clears every banner and is kept', async () => {
    expect(await board.locator('#escalations').textContent()).toContain('暂无未签收的督办');
    expect(await queued()).toBe('0');
    const alert = newAlert({ riskLevel: 'high' });
    alertId = alert.alertId;
    await alertApi(stack).ingest(platform, alert);
    await expect.poll(queued, { timeout: LIVE_MS }).toBe('1');

    // Nobody claims it within 2 s: the escalation rings on the board (and 2 s later, level 2 for the center head).
    const first = board.locator('#escalations [data-escalation-id]').first();
    await first.waitFor({ timeout: LIVE_MS });
    const id = (await first.getAttribute('data-escalation-id'))!;
    const banner = board.locator(`#escalations [data-escalation-id="${id}"]`);
    expect(await banner.textContent()).toContain(`一级督办 · 预警 ${alertId} · 超时未领取`);
    await expect.poll(async () => (await alarms(board)).tones).toBeGreaterThanOrEqual(1);
    expect((await alarms(board)).shown.join()).toContain(id);
    const elsewhere = otherBoard.locator(`#escalations [data-escalation-id="${id}"]`);
    await elsewhere.waitFor({ timeout: LIVE_MS });
    await board.locator(`#late [data-alert-id="${alertId}"]`).waitFor({ timeout: LIVE_MS });
    await expectAccessible(board);
    await screenshot(board, 'board');

    // By keyboard: to "Acknowledge", Enter.
    await tabTo(board, banner.getByRole('button', { name: `签收 一级督办 ${alertId}` }));
    await board.keyboard.press('Enter');
    await expect.poll(() => board.locator('#escalations .notice').textContent()).toContain('已签收');
    await expect.poll(() => banner.count()).toBe(0);
    // The colleague's banner stops too, without a reload.
    await expect.poll(() => elsewhere.count(), { timeout: LIVE_MS }).toBe(0);
    const kept = await stack.app.services.notifications.escalations(supervisor.user, { limit: 5 });
    expect(kept.find((e) => String(e.id) === id)).toMatchObject({
      caseId: alertId,
      level: 1,
      acknowledgedBy: supervisor.user.userId,
    });
    expect(await otherBoard.locator('#escalations details').textContent()).toContain(supervisor.user.userId);
  });

  it('takes a held alert back to the queue; the operator’s page shows it gone', async () => {
    await desk.keyboard.press('t');
    await desk.locator(`#current article[data-alert-id="${alertId}"]`).waitFor();
    const held = board.locator(`#held [data-alert-id="${alertId}"]`);
    await held.waitFor({ timeout: LIVE_MS });
    expect(await held.textContent()).toContain('由 王接线员 领取');
    await expect
      .poll(() => board.locator(`#on-duty [data-user-id="${operator.user.userId}"]`).textContent(), {
        timeout: LIVE_MS,
      })
      .toContain(alertId);

    await held.locator('summary', { hasText: '退回队列' }).click();
    const release = held.locator('form[action$="/release"]');
    await release.getByLabel('原因').fill('劝阻员离席未归');
    await release.getByRole('button', { name: '退回队列' }).click();
    await expect.poll(() => board.locator('#held .notice').textContent()).toContain('已处置');
    await expect.poll(() => desk.locator('#current').textContent(), { timeout: LIVE_MS }).toContain('尚未领取预警');
    const now = await view(alertId);
    expect(now).toMatchObject({ state: 'queued', assignee: null });
    expect(now.timeline.findLast((e) => e.kind === 'released')).toMatchObject({
      actor: { userId: supervisor.user.userId, role: 'supervisor' },
      detail: { reason: '劝阻员离席未归' },
    });
  });

  it('keeps a drawer the supervisor opened while live changes arrive, and catches up once they leave it', async () => {
    const late = board.locator(`#late [data-alert-id="${alertId}"]`);
    await late.waitFor({ timeout: LIVE_MS });
    await late.locator('summary', { hasText: '撤销' }).click();
    const drawer = late.locator('details:has(form[action$="/cancel"])');
    await drawer.evaluate((d) => d.setAttribute('data-opened-here', ''));

    // Another alert arrives and, unclaimed for 2 s, escalates: two changes the whole board refreshes for.
    const other = newAlert({ riskLevel: 'high' });
    await alertApi(stack).ingest(platform, other);
    await expect.poll(queued, { timeout: LIVE_MS }).toBe('2');
    await board
      .locator('#escalations [data-escalation-id]', { hasText: other.alertId })
      .first()
      .waitFor({ timeout: LIVE_MS });
    expect(await board.locator('#late details[data-opened-here][open]').count()).toBe(1);
    expect(await board.locator(`#late [data-alert-id="${other.alertId}"]`).count()).toBe(0);

    // Out of the drawer: the overdue list catches up with what it held back.
    await board.locator('h1').first().click();
    await board.locator(`#late [data-alert-id="${other.alertId}"]`).waitFor({ timeout: LIVE_MS });
    expect(await board.locator('#late details[data-opened-here]').count()).toBe(0);
    expect((await alertApi(stack).cancel(supervisor, other.alertId, { reason: '重复推送' })).statusCode).toBe(200);
  });

  it('cancels an alert only with a reason: without one, refused in words; with one, closed', async () => {
    const late = board.locator(`#late [data-alert-id="${alertId}"]`);
    await late.locator('summary', { hasText: '撤销' }).click();
    const form = late.locator('form[action$="/cancel"]');
    await form.evaluate((f) => f.setAttribute('novalidate', ''));
    await form.getByRole('button', { name: '撤销' }).click();
    await expect.poll(() => board.locator('#late .notice-error').textContent()).toBe('请填写原因。');
    expect((await view(alertId)).state).toBe('queued');

    const again = board.locator(`#late [data-alert-id="${alertId}"]`);
    await again.locator('summary', { hasText: '撤销' }).click();
    await again.locator('form[action$="/cancel"]').getByLabel('原因').fill('平台已撤回');
    await again.locator('form[action$="/cancel"]').getByRole('button', { name: '撤销' }).click();
    await waitFor('the cancel', async () => (await view(alertId)).outcome === 'cancelled');
    await expect.poll(() => board.locator('#late').textContent(), { timeout: LIVE_MS }).toContain('没有超时或督办');
    await expectAccessible(board);
  });
});
