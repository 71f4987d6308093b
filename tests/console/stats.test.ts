/**
 * Statistics in Chromium, against a real stack: a period of days kept in the URL, charts drawn on the
 * server (SVG, named for screen readers) with the same figures as a table whose rows link to the list
 * they count, and a CSV export of the period — each figure checked against the alerts this test made.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertApi, newAlert, waitFor } from '../helpers/alerts.js';
import { expectAccessible, launchBrowser, newPerson, screenshot, signInWithToken } from '../helpers/browser.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let browser: Browser;
let page: Page;
const contexts: BrowserContext[] = [];
let dissuadedId: string;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
  const [platform, operator, supervisor] = await Promise.all([
    stack.user(['platform']),
    stack.user(['operator']),
    stack.user(['supervisor']),
  ]);
  const api = alertApi(stack);
  const made = [
    newAlert({ fraudType: 'investment', stationId: 'siming-01', riskLevel: 'high' }),
    newAlert({ fraudType: 'investment', stationId: 'siming-01', riskLevel: 'medium' }),
    newAlert({ fraudType: 'romance', stationId: 'huli-02', riskLevel: 'low' }),
  ];
  for (const alert of made) await api.ingest(platform, alert);
  dissuadedId = made[0]!.alertId;
  await api.claim(operator, dissuadedId);
  await api.callResult(operator, dissuadedId, { result: 'contacted', outcome: 'dissuaded', amountAtRiskFen: 880_000 });
  await waitFor('the read model', async () => {
    const listed = (await api.list(supervisor, '?limit=10')).json().items as { state: string }[];
    return listed.length === 3 && listed.some((a) => a.state === 'closed');
  });
  const context = await newPerson(browser, stack.baseUrl);
  contexts.push(context);
  page = await context.newPage();
  await signInWithToken(page, supervisor.token);
});
afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await stack?.close();
});

describe('statistics', () => {
  it('draws the period’s charts, each with its figures as a table linking to the matching list', async () => {
    await page.goto('/stats');
    const today = await page.locator('input[name=to]').inputValue();
    expect(await page.locator('.counts').textContent()).toContain('收到预警3');
    const svg = page.locator('figure#outcomes svg, figure[aria-labelledby="outcomes-title"] svg');
    expect(await svg.getAttribute('aria-label')).toBe('办结结果');
    const byFraud = page.locator('figure[aria-labelledby="by-fraud-title"]');
    await byFraud.locator('summary').click();
    expect(await byFraud.locator('tr').allTextContents()).toEqual(['虚假投资理财2 条', '网络婚恋交友1 条']);
    await expectAccessible(page);
    await screenshot(page, 'stats');

    const outcomes = page.locator('figure[aria-labelledby="outcomes-title"]');
    await outcomes.locator('summary').click();
    await outcomes.getByRole('link', { name: '劝阻成功' }).click();
    await page.waitForURL(/\/alerts\?outcome=dissuaded/);
    expect(
      await page.locator('[data-alert-id]').evaluateAll((li) => li.map((e) => e.getAttribute('data-alert-id'))),
    ).toEqual([dissuadedId]);
    await expectAccessible(page);

    // The period stays in the URL: a day with nothing in it shows nothing.
    await page.goto(`/stats?from=2026-01-01&to=2026-01-02`);
    expect(await page.locator('.counts').textContent()).toContain('收到预警0');
    expect(await page.locator('input[name=from]').inputValue()).toBe('2026-01-01');
    expect(today).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('exports the period as CSV', async () => {
    const csv = await page.request.get('/stats.csv');
    expect(csv.headers()['content-type']).toContain('text/csv');
    const text = await csv.text();
    expect(text).toContain('alerts,received,3');
    expect(text).toContain('closed_by_outcome,dissuaded,1');
    expect(text).toContain('received_by_station,siming-01,2');
    expect(text).toContain('alerts,prevented_loss_yuan,8800.00');
  });

  it('refuses a reversed period in words, in place', async () => {
    await page.goto('/stats?from=2026-03-02&to=2026-03-01');
    expect(await page.locator('[role=alert]').textContent()).toBeTruthy();
    expect(await page.locator('svg').count()).toBe(0);
  });
});
