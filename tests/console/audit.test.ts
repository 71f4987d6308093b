/**
 * The auditor's pages in Chromium, against a real stack: find a closed case by its alert ID (by
 * keyboard), read its timeline newest first, filter it by kind (kept in the URL), download the raw
 * history, replay it against the code in use now, verify the archive; the link to the Temporal Web UI;
 * and the admin's access log, which shows each of these reads.
 */
import { desc, eq } from 'drizzle-orm';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { alertApi, newAlert } from '../helpers/alerts.js';
import { expectAccessible, launchBrowser, newPerson, screenshot, signInWithToken, tabTo } from '../helpers/browser.js';
import { auditArchive } from '#db/schema.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';
import { runArchiver } from '../audit/helpers.js';

const UI = 'http://temporal-ui.center.test:8080';

let stack: Stack;
let browser: Browser;
let platform: Caller, operator: Caller, auditor: Caller, admin: Caller;
let page: Page;
let alertId: string;
const contexts: BrowserContext[] = [];

async function signedIn(caller: Caller, landing: string): Promise<Page> {
  const context = await newPerson(browser, stack.baseUrl);
  contexts.push(context);
  const opened = await context.newPage();
  await signInWithToken(opened, caller.token);
  await opened.goto(landing);
  return opened;
}

beforeAll(async () => {
  [stack, browser] = await Promise.all([
    startStack({ env: { FANZHA_REPLAY_BUNDLE: inject('workflowBundlePath'), FANZHA_TEMPORAL_UI_URL: UI } }),
    launchBrowser(),
  ]);
  [platform, operator, auditor, admin] = await Promise.all([
    stack.user(['platform']),
    stack.user(['operator'], { name: '王接线员' }),
    stack.user(['auditor'], { name: '审计员 郑' }),
    stack.user(['admin']),
  ]);
  const alert = newAlert();
  alertId = alert.alertId;
  await alertApi(stack).ingest(platform, alert);
  await alertApi(stack).claim(operator, alertId);
  await alertApi(stack).callResult(operator, alertId, { result: 'contacted', outcome: 'dissuaded' });
  // The archiver takes completed workflows: the alert's row says closed a task before its workflow completes.
  await stack.client.workflow.getHandle(`alert-${alertId}`).result();
  await runArchiver(stack);
  page = await signedIn(auditor, '/audit');
});
afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await stack?.close();
});

describe('the auditor’s pages', () => {
  it('find a case by its alert ID and read its timeline, newest first, filtered by kind', async () => {
    await expectAccessible(page);
    await tabTo(page, page.getByLabel('预警编号、止付案件编号、止付账户编号或工作流编号'));
    await page.keyboard.type(alertId);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/audit/workflows/alert-${alertId}`);
    const entries = page.locator('.timeline > li');
    const kinds = await entries.evaluateAll((items) => items.map((li) => li.getAttribute('data-kind')));
    expect(kinds[0]).toBe('workflow_completed');
    expect(kinds[kinds.length - 1]).toBe('workflow_started');
    expect(await page.locator('.timeline').textContent()).toContain('王接线员 (96110 劝阻员)');
    await expectAccessible(page);
    await screenshot(page, 'audit');

    await page.getByLabel('类别').selectOption('claimed');
    await page.getByLabel('顺序').selectOption('oldest');
    await page.getByRole('button', { name: '筛选' }).click();
    await page.waitForURL(/kind=claimed/);
    expect(page.url()).toContain('order=oldest');
    expect(await entries.evaluateAll((items) => items.map((li) => li.getAttribute('data-kind')))).toEqual(['claimed']);
    expect(await page.getByRole('link', { name: '在 Temporal Web UI 中查看' }).getAttribute('href')).toMatch(
      new RegExp(`^${UI}/namespaces/default/workflows/alert-${alertId}/`),
    );
  });

  it('downloads the raw history and replays it against the code in use now', async () => {
    const link = page.getByRole('link', { name: '下载原始历史' });
    const raw = await page.request.get((await link.getAttribute('href'))!);
    expect(raw.headers()['content-disposition']).toContain(`alert-${alertId}`);
    const history = (await raw.json()) as { events: { eventType: string }[] };
    expect(history.events[0]!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');

    await page.getByRole('button', { name: '重放校验' }).click();
    await expect.poll(() => page.locator('#verdict').textContent(), { timeout: 30_000 }).toContain('重放一致');
  });

  it('verifies the archive, and shows the admin log', async () => {
    await stack.request(admin, {
      method: 'POST',
      url: '/v1/users',
      payload: { userId: 'new.face', name: '新同事', roles: ['station'], stationId: 'jimei-01' },
    });
    await page.goto('/audit');
    const act = page.locator('#admin-log-title + table tr[data-action="user_created"]');
    expect(await act.textContent()).toContain('new.face');
    expect(await act.textContent()).toContain(admin.user.userId);
    await page.getByRole('button', { name: '校验归档' }).click();
    await expect.poll(() => page.locator('#archive-verdict').textContent()).toMatch(/归档完整：\d+ 条记录/);
    await expectAccessible(page);

    // The newest record deleted: the verdict says what broke, in the reader's words, not the API's English.
    const [newest] = await stack.database.db.select().from(auditArchive).orderBy(desc(auditArchive.id)).limit(1);
    expect(newest, 'the archiver archived the closed alert').toBeDefined();
    await stack.database.db.delete(auditArchive).where(eq(auditArchive.id, newest!.id));
    try {
      await page.getByRole('button', { name: '校验归档' }).click();
      const verdict = page.locator('#archive-verdict [role=alert]');
      await expect.poll(() => verdict.textContent()).toContain(`Temporal 中锚定的链头第 ${newest!.id} 条记录已不存在`);
      expect(await verdict.textContent()).not.toMatch(/newest records|\{/);
      await expectAccessible(page);
    } finally {
      await stack.database.db.insert(auditArchive).values(newest!);
    }
  });

  it('says so when no case has the ID', async () => {
    await page.goto('/audit/find?id=NO-SUCH-CASE');
    expect(await page.locator('[role=alert]').textContent()).toContain('没有找到 NO-SUCH-CASE');
  });

  it('shows the admin every read in the access log', async () => {
    const log = await signedIn(admin, '/access-log');
    const rows = log.locator(`tr[data-action]`, { hasText: '审计员 郑' });
    const actions = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-action')));
    expect(actions).toEqual(expect.arrayContaining(['timeline', 'history', 'replay', 'archive_verify']));
    await expectAccessible(log);
  });
});
