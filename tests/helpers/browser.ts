/**
 * A real browser for the console tests: Debian's Chromium (`/usr/bin/chromium`, installed by the test
 * preparation), driven by playwright-core, which never downloads a browser of its own. axe-core
 * checks each page; screenshots land in the git-ignored `screenshots/`.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';

export const CHROMIUM_PATH = process.env.FANZHA_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = fileURLToPath(new URL('../../screenshots', import.meta.url));

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    // Root in a sandbox-less container; no background traffic to hosts this machine cannot reach.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A fresh browser profile (its own cookies) speaking `locale`. */
export const newPerson = (
  browser: Browser,
  baseURL: string,
  locale = 'zh-CN',
  viewport = { width: 1280, height: 900 },
): Promise<BrowserContext> => browser.newContext({ baseURL, locale, viewport, timezoneId: 'Asia/Shanghai' });

/** No serious or critical accessibility violation on the page as it is now. */
export async function expectAccessible(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`);
  expect(serious.join('\n'), page.url()).toBe('');
}

export async function screenshot(page: Page, name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** "Sign in with a token", as a first admin (or a test that is not about passwords) does. */
export async function signInWithToken(page: Page, token: string) {
  await page.goto('/sign-in');
  await page.locator('summary').click();
  await page.locator('input[name=token]').fill(token);
  await page.locator('form[action="/sign-in/token"] button').click();
  await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'));
}

/** The page fits its viewport: nothing scrolls sideways. */
export async function expectNoSidewaysScroll(page: Page) {
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(scroll, page.url()).toBeLessThanOrEqual(width);
}

/** Presses Tab until `target` has the focus, as a person without a mouse would; fails after `limit` presses. */
export async function tabTo(page: Page, target: Locator, limit = 120) {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    if (await target.evaluate((el) => el === document.activeElement)) return;
  }
  throw new Error(`${limit} presses of Tab never reached ${target.toString()}`);
}

/** What a page told its person without words: notifications shown, tones played, permission asked. */
export interface Alarms {
  shown: string[];
  tones: number;
  asked: number;
}

/**
 * Notes each desktop notification, tone and permission request of `page` (from its next load on),
 * then lets the browser do it: the page behaves as ever, and the test can ask what it heard.
 */
export async function listenForAlarms(page: Page) {
  await page.addInitScript(() => {
    const heard = { shown: [] as string[], tones: 0, asked: 0 };
    Object.assign(window, { heard });
    const Real = window.Notification;
    window.Notification = new Proxy(Real, {
      construct(target, args: [string, NotificationOptions?]) {
        heard.shown.push(args[1]?.body ?? '');
        return Reflect.construct(target, args);
      },
    });
    const ask = Real.requestPermission.bind(Real);
    Real.requestPermission = () => {
      heard.asked += 1;
      return ask();
    };
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function (...args) {
      heard.tones += 1;
      return start.apply(this, args);
    };
  });
}

export const alarms = (page: Page) => page.evaluate(() => (window as unknown as { heard: Alarms }).heard);
