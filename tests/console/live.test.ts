/**
 * Live pages across an API restart, in Chromium: while the API is down the page says "connection lost
 * — reconnecting"; a new API process (same database, same port) resumes the stream from the page's
 * Last-Event-ID, and what happened meanwhile appears without a reload. Also: signing out while holding
 * an alert asks to release it first.
 */
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#api/app.js';
import { newAlert } from '../helpers/alerts.js';
import { expectAccessible, launchBrowser, newPerson, signInWithToken } from '../helpers/browser.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';

const LIVE_MS = 10_000;

let stack: Stack;
let browser: Browser;
let platform: Caller;
let page: Page;
let restarted: FastifyInstance | null = null;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
  platform = await stack.user(['platform']);
  const operator = await stack.user(['operator'], { name: '值守 王' });
  const context = await newPerson(browser, stack.baseUrl);
  contexts.push(context);
  page = await context.newPage();
  await signInWithToken(page, operator.token);
  await page.waitForURL('**/operator');
});
afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await restarted?.close();
  await stack?.close();
});

describe('live pages', () => {
  it('show "connection lost" while the API is down, and catch up after it comes back', async () => {
    const banner = page.locator('#live-banner');
    expect(await banner.isHidden()).toBe(true);
    await stack.app.close();
    await banner.waitFor({ state: 'visible', timeout: LIVE_MS });
    expect(await banner.textContent()).toBe('连接已断开，正在重连');

    // Meanwhile the platform pushes (straight to Temporal: the API is down) and the worker projects it.
    const missed = newAlert({ riskLevel: 'high' });
    await stack.client.workflow.start('AlertWorkflow', {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId: `alert-${missed.alertId}`,
      args: [{ alert: missed, receivedAt: new Date().toISOString(), policy: stack.config.policy.alert }],
    });

    restarted = await buildApp({
      config: stack.config,
      database: stack.database,
      temporal: stack.client,
      logger: false,
    });
    await restarted.listen({ host: '127.0.0.1', port: stack.config.port });
    await banner.waitFor({ state: 'hidden', timeout: LIVE_MS });
    await page.locator(`#queue [data-alert-id="${missed.alertId}"]`).waitFor({ timeout: LIVE_MS });
  });

  it('asks an operator holding an alert to release it before signing out', async () => {
    const alert = newAlert();
    // The first API is closed: push through the restarted one.
    const pushed = await restarted!.inject({
      method: 'POST',
      url: '/v1/alerts',
      headers: { authorization: `Bearer ${platform.token}` },
      payload: alert,
    });
    expect(pushed.statusCode).toBe(201);
    await page.locator(`#queue [data-alert-id="${alert.alertId}"]`).waitFor({ timeout: LIVE_MS });
    await page.getByRole('button', { name: '领取下一条' }).click();
    await page.locator('#current article').waitFor();
    await page.getByRole('button', { name: '退出' }).click();
    await page.waitForURL(/releaseFirst/);
    expect(await page.locator('#current .notice').textContent()).toContain('请先退回');
    await expectAccessible(page);
    await page.getByRole('button', { name: '退回' }).click();
    await page.locator('#current article').waitFor({ state: 'detached' });
    await page.getByRole('button', { name: '退出' }).click();
    await page.waitForURL('**/sign-in');
  });
});
