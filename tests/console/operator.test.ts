/**
 * The console in a real browser (Chromium) against a real stack (API + console, worker, Temporal dev
 * server, PostgreSQL): a 96110 operator enrolls, signs in, sees a pushed alert arrive without a
 * reload, takes it with one key and records the call. Also: two operators racing for the last alert,
 * CSRF, the language switch, signing out, a revoked token, accessibility, and the lock after five
 * failed sign-ins (last: it locks the address every test here signs in from).
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
} from '../helpers/browser.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';

const PASSWORD = '正确的密码-correct-horse';
const LIVE_MS = 10_000;

let stack: Stack;
let browser: Browser;
let admin: Caller;
let platform: Caller;
let supervisor: Caller;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
  console.log(`browser: Chromium ${browser.version()}`);
  [admin, platform, supervisor] = await Promise.all([
    stack.user(['admin']),
    stack.user(['platform']),
    stack.user(['supervisor']),
  ]);
});
afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await stack?.close();
});

async function person(locale = 'zh-CN'): Promise<Page> {
  const context = await newPerson(browser, stack.baseUrl, locale);
  contexts.push(context);
  return context.newPage();
}

/** An admin creates the user through the API and hands over the enrollment link. */
async function enrollmentLink(userId: string, name: string, roles: string[]): Promise<string> {
  const created = await stack.request(admin, { method: 'POST', url: '/v1/users', payload: { userId, name, roles } });
  expect(created.statusCode, created.body).toBe(201);
  const link = await stack.request(admin, { method: 'POST', url: `/v1/users/${userId}/enrollments` });
  expect(link.statusCode, link.body).toBe(201);
  // The link names the host the admin asked; this admin asked in-process, so keep the path.
  return new URL(link.json().url as string).pathname;
}

async function signIn(page: Page, login: string, password = PASSWORD) {
  await page.goto('/sign-in');
  await page.getByLabel('用户名').fill(login);
  await page.getByLabel('密码', { exact: true }).fill(password);
  await page.getByRole('button', { name: '登录', exact: true }).click();
}

const alertView = async (alertId: string) => (await alertApi(stack).get(supervisor, alertId)).json() as AlertView;

describe('the operator console', () => {
  let operator: Page;

  it('enrolls by link, signs in with the password, and lands on the operator page', async () => {
    const url = await enrollmentLink('op.wang', '王接线员', ['operator']);
    operator = await person();
    await operator.goto(url);
    await expect.poll(() => operator.locator('h1').textContent()).toBe('设置密码');
    await expectAccessible(operator);
    await screenshot(operator, 'enroll');
    await operator.getByLabel('新密码', { exact: true }).fill(PASSWORD);
    await operator.getByLabel('再次输入新密码').fill(PASSWORD);
    await operator.getByRole('button', { name: '设置密码' }).click();
    await expect.poll(() => operator.locator('.notice').textContent()).toContain('密码已设置');
    await expectAccessible(operator);
    await screenshot(operator, 'sign-in');
    // The link is used up.
    const again = await operator.request.get(url);
    expect(again.status()).toBe(404);

    await signIn(operator, 'op.wang');
    await operator.waitForURL('**/operator');
    expect(await operator.locator('h1').textContent()).toBe('预警劝阻');
    expect(await operator.getByText('尚未领取预警').count()).toBe(1);
  });

  it('shows a pushed alert without a reload, takes it with "t" and records "dissuaded"', async () => {
    const alert = newAlert({ riskLevel: 'high', victim: { phone: '13912345678', name: '李四' }, note: '疑似刷单' });
    await alertApi(stack).ingest(platform, alert);
    // Live: the queue updates itself (and masks the phone: nobody holds it yet).
    await operator.locator(`[data-alert-id="${alert.alertId}"]`).waitFor({ timeout: LIVE_MS });
    expect(await operator.locator('#queue').textContent()).toContain('139****5678');
    await expectAccessible(operator);
    // The platform pushes it again: counted, and its newest note shown to whoever takes it.
    await alertApi(stack).ingest(platform, { ...alert, note: '受害人正在转账' });
    await expect.poll(async () => (await alertView(alert.alertId)).repeatedPushes?.count).toBe(1);

    await operator.keyboard.press('t');
    const current = operator.locator('#current article');
    await current.waitFor();
    // The assignee sees the phone in full, to call it.
    expect(await current.locator('.phone').textContent()).toBe('13912345678');
    expect(await current.textContent()).toContain('疑似刷单');
    expect(await current.textContent()).toMatch(/平台重复推送\s*1 次，最近一次.*受害人正在转账/s);
    await screenshot(operator, 'operator');
    await expectAccessible(operator);

    await operator.keyboard.press('r');
    await operator.getByLabel('劝阻结果').selectOption('dissuaded');
    await operator.getByLabel('涉案金额（元）').fill('5000.50');
    await operator.getByRole('button', { name: '已接通' }).click();
    await expect.poll(() => operator.locator('#current').textContent()).toContain('已登记：劝阻成功');
    // The live refresh the decision itself causes a moment later leaves the confirmation in place.
    const refreshed = operator.waitForResponse((r) => new URL(r.url()).pathname === '/operator/current');
    await operator.evaluate(() => (window as unknown as { htmx: any }).htmx.trigger(document.body, 'fanzha:changed'));
    await refreshed;
    await operator.waitForFunction(
      () => !document.querySelector('#current.htmx-request, #current.htmx-swapping, #current.htmx-settling'),
    );
    expect(await operator.locator('#current').textContent()).toContain('已登记：劝阻成功');
    const closed = await alertView(alert.alertId);
    expect(closed).toMatchObject({ state: 'closed', outcome: 'dissuaded', amountAtRiskFen: 500_050 });
    expect(closed.timeline.find((e) => e.kind === 'call_result')?.actor?.userId).toBe('op.wang');
  });

  it('gives the last queued alert to one of two operators pressing "Take next" at once; the other is told', async () => {
    await enrollmentLink('op.li', '李接线员', ['operator']).then(async (url) => {
      const page = await person();
      await page.goto(url);
      await page.getByLabel('新密码', { exact: true }).fill(PASSWORD);
      await page.getByLabel('再次输入新密码').fill(PASSWORD);
      await page.getByRole('button', { name: '设置密码' }).click();
      await signIn(page, 'op.li');
      await page.waitForURL('**/operator');
      const alert = newAlert();
      await alertApi(stack).ingest(platform, alert);
      await Promise.all(
        [page, operator].map((p) => p.locator(`[data-alert-id="${alert.alertId}"]`).waitFor({ timeout: LIVE_MS })),
      );
      // Each page's own answer, swapped in and settled: #current may still show the last test's notice before it.
      const answered = [page, operator].map((p) =>
        p.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/operator/next'),
      );
      await Promise.all([page, operator].map((p) => p.getByRole('button', { name: '领取下一条' }).click()));
      await Promise.all(answered);
      const texts = await Promise.all(
        [page, operator].map(async (p) => {
          await p.waitForFunction((alertId) => {
            const current = document.querySelector('#current');
            return (
              !current?.matches('.htmx-swapping, .htmx-settling') &&
              (current?.querySelector(`article[data-alert-id="${alertId}"]`) !== null ||
                current?.textContent?.includes('没有可领取的预警'))
            );
          }, alert.alertId);
          return p.locator('#current').textContent();
        }),
      );
      expect(texts.filter((t) => t?.includes('没有可领取的预警'))).toHaveLength(1);
      const winner = texts.findIndex((t) => !t?.includes('没有可领取的预警'));
      expect((await alertView(alert.alertId)).assignee?.userId).toBe(winner === 0 ? 'op.li' : 'op.wang');
      // The winner hands it back, so the alert is not left held by a test.
      await [page, operator][winner]!.getByRole('button', { name: '退回' }).click();
      await waitFor('the release', async () => (await alertView(alert.alertId)).state === 'queued');
    });
  });

  it('works by keyboard alone: ? shows the keys, j moves through the queue, t takes, r and Tab record the call', async () => {
    const alerts = [newAlert({ riskLevel: 'high' }), newAlert({ riskLevel: 'low' })];
    for (const alert of alerts) await alertApi(stack).ingest(platform, alert);
    await operator.goto('/operator');
    await operator.locator(`#queue [data-alert-id="${alerts[1]!.alertId}"]`).waitFor({ timeout: LIVE_MS });
    await operator.keyboard.press('?');
    await operator.locator('#keys-help').waitFor({ state: 'visible' });
    await operator.keyboard.press('Escape');
    await operator.locator('#keys-help').waitFor({ state: 'hidden' });
    // The queue in the order the page shows it: most urgent first.
    const ids = await operator
      .locator('#queue li')
      .evaluateAll((items) => items.map((li) => li.getAttribute('data-alert-id')));
    const focused = () => operator.evaluate(() => document.activeElement?.getAttribute('data-alert-id'));
    await operator.keyboard.press('j');
    expect(await focused()).toBe(ids[0]);
    await operator.keyboard.press('j');
    expect(await focused()).toBe(ids[1]);
    await operator.keyboard.press('k');
    expect(await focused()).toBe(ids[0]);
    // Take the most urgent, then report it without a mouse.
    await operator.keyboard.press('t');
    await operator.locator(`#current article[data-alert-id="${ids[0]}"]`).waitFor();
    await operator.keyboard.press('r');
    expect(await operator.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('outcome');
    await operator.keyboard.press('Tab'); // the amount
    await operator.keyboard.press('Tab'); // "Reached"
    await operator.keyboard.press('Enter');
    await expect.poll(() => operator.locator('#current').textContent()).toContain('已登记：劝阻成功');
    expect((await alertView(ids[0]!)).outcome).toBe('dissuaded');
    // The next one: "not reached" by one key; it leaves the operator's hands for a retry.
    await operator.keyboard.press('t');
    await operator.locator(`#current article[data-alert-id="${ids[1]}"]`).waitFor();
    await operator.keyboard.press('n');
    await expect.poll(async () => (await alertView(ids[1]!)).callAttempts).toBe(1);
    expect((await alertView(ids[1]!)).state).not.toBe('calling');
    expect(ids).toEqual(expect.arrayContaining(alerts.map((a) => a.alertId)));
  });

  it('sounds and notifies for a new high-risk alert only, and asks for notifications once', async () => {
    const caller = await stack.user(['operator']);
    const listen = async (page: Page) => {
      await listenForAlarms(page);
      await signInWithToken(page, caller.token);
      await page.goto('/operator');
    };
    const heard = alarms;

    const granted = await person();
    await granted.context().grantPermissions(['notifications']);
    await listen(granted);
    const medium = newAlert({ riskLevel: 'medium' });
    await alertApi(stack).ingest(platform, medium);
    await granted.locator(`#queue [data-alert-id="${medium.alertId}"]`).waitFor({ timeout: LIVE_MS });
    const high = newAlert({ riskLevel: 'high' });
    await alertApi(stack).ingest(platform, high);
    await granted.locator(`#queue [data-alert-id="${high.alertId}"]`).waitFor({ timeout: LIVE_MS });
    await expect.poll(() => heard(granted)).toMatchObject({ shown: [expect.stringContaining(high.alertId)], tones: 1 });

    // Not yet asked: the first click asks, once, and never again on this browser.
    const fresh = await person();
    await listen(fresh);
    await fresh.locator('h1').click();
    await fresh.locator('h1').click();
    expect((await heard(fresh)).asked).toBe(1);
    await fresh.reload();
    await fresh.locator('h1').click();
    expect((await heard(fresh)).asked).toBe(0);
  });

  it('refuses a state change without the page’s CSRF token, in words', async () => {
    const refused = await operator.request.post('/operator/next', { form: { idempotencyKey: 'x' } });
    expect(refused.status()).toBe(403);
    expect(await refused.text()).toContain('页面已过期');
  });

  it('switches to English and back; the controls carry their English names', async () => {
    await operator.goto('/operator');
    await operator.getByLabel('语言').selectOption('en');
    await operator.waitForURL('**/operator');
    await operator.getByRole('button', { name: 'Take next' }).waitFor();
    expect(await operator.locator('html').getAttribute('lang')).toBe('en');
    await operator.getByLabel('Language').selectOption('zh-CN');
    await operator.getByRole('button', { name: '领取下一条' }).waitFor();
  });

  it('ends the session on sign-out: the page, and the old cookie, lead to the sign-in page', async () => {
    const cookies = await operator.context().cookies();
    await operator.getByRole('button', { name: '退出' }).click();
    await operator.waitForURL('**/sign-in');
    await operator.goto('/operator');
    await operator.waitForURL('**/sign-in');
    const replay = await person();
    await replay.context().addCookies(cookies);
    await replay.goto('/operator');
    await replay.waitForURL(/\/sign-in/);
  });

  it('ends a session opened with a token as soon as the token is revoked', async () => {
    const caller = await stack.user(['operator']);
    const page = await person();
    await page.goto('/sign-in');
    await page.getByText('使用令牌登录').first().click();
    await page.getByLabel('令牌').fill(caller.token);
    await page.getByRole('button', { name: '使用令牌登录' }).click();
    await page.waitForURL('**/operator');
    const tokens = await stack.database.db.query.apiTokens.findMany({
      where: (t, { eq }) => eq(t.userId, caller.user.userId),
    });
    const revoked = await stack.request(admin, {
      method: 'DELETE',
      url: `/v1/users/${caller.user.userId}/tokens/${tokens[0]!.tokenId}`,
    });
    expect(revoked.statusCode).toBe(204);
    await page.reload();
    await page.waitForURL(/\/sign-in/);
  });

  it('locks the name after five failed sign-ins, and says so', async () => {
    await enrollmentLink('op.zhao', '赵接线员', ['operator']);
    const page = await person();
    for (let i = 0; i < 5; i++) {
      await signIn(page, 'op.zhao', `wrong password ${i}`);
      await expect.poll(() => page.locator('[role=alert]').textContent()).toContain('用户名或密码错误');
    }
    await signIn(page, 'op.zhao', PASSWORD);
    await expect.poll(() => page.locator('[role=alert]').textContent()).toContain('锁定 15 分钟');
    expect(await stack.app.services.sessions.recentFailures('op.zhao')).toBe(5);
  });
});
