/**
 * The admin's page in Chromium, against a real stack: "New user" yields the enrollment link, and the
 * person enrolls and signs in; "Disable" ends their open session at once (and "Enable" lets them back);
 * "Reset password" stops the old password at once; "Issue token" shows a token once, which works until
 * "Revoke". By keyboard alone where a person would type.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, launchBrowser, newPerson, screenshot, signInWithToken, tabTo } from '../helpers/browser.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';

const PASSWORD = '新同事的密码-long-enough';

let stack: Stack;
let browser: Browser;
let admin: Caller;
let page: Page;
const contexts: BrowserContext[] = [];

async function person(): Promise<Page> {
  const context = await newPerson(browser, stack.baseUrl);
  contexts.push(context);
  return context.newPage();
}

async function signIn(someone: Page, login: string, password: string) {
  await someone.goto('/sign-in');
  await someone.getByLabel('用户名').fill(login);
  await someone.getByLabel('密码', { exact: true }).fill(password);
  await someone.getByRole('button', { name: '登录', exact: true }).click();
}

/** The one-time secret the last action showed. */
const secret = async () => (await page.locator('#staff [data-secret]').textContent())!.trim();
const row = (userId: string) => page.locator(`#staff [data-user-id="${userId}"]`);

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack({ worker: false }), launchBrowser()]);
  admin = await stack.user(['admin'], { name: '系统管理员 周' });
  page = await person();
  await signInWithToken(page, admin.token);
  await page.goto('/admin');
});
afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await stack?.close();
});

describe('the admin page', () => {
  let newcomer: Page;

  it('creates a user by keyboard alone; the enrollment link lets them set a password and sign in', async () => {
    await expectAccessible(page);
    const form = page.locator('#new-user');
    await tabTo(page, form.getByLabel(/^用户名/));
    await page.keyboard.type('op.qian');
    await tabTo(page, form.getByLabel('姓名'));
    await page.keyboard.type('钱接线员');
    await tabTo(page, form.getByLabel('96110 劝阻员'));
    await page.keyboard.press('Space');
    await tabTo(page, form.getByRole('button', { name: '新建用户' }));
    await page.keyboard.press('Enter');
    await row('op.qian').waitFor();
    expect(await page.locator('#staff .notice').textContent()).toContain('已新建用户 钱接线员（用户名 op.qian）');
    const link = await secret();
    expect(link).toMatch(/\/enroll\//);
    await expectAccessible(page);
    await screenshot(page, 'admin');

    newcomer = await person();
    await newcomer.goto(new URL(link).pathname);
    await newcomer.getByLabel('新密码', { exact: true }).fill(PASSWORD);
    await newcomer.getByLabel('再次输入新密码').fill(PASSWORD);
    await newcomer.getByRole('button', { name: '设置密码' }).click();
    await signIn(newcomer, 'op.qian', PASSWORD);
    await newcomer.waitForURL('**/operator');
  });

  it('refuses a second user with a taken name, in words beside nothing changed', async () => {
    const form = page.locator('#new-user');
    await form.getByLabel(/^用户名/).fill('op.qian');
    await form.getByLabel('姓名').fill('另一个人');
    await form.getByLabel('审批人').check();
    await form.getByRole('button', { name: '新建用户' }).click();
    await expect.poll(() => page.locator('#staff .notice-error').textContent()).toContain('不能与他人重复');
    expect(await page.locator('#staff [data-user-id="op.qian"]').count()).toBe(1);
    expect(await page.locator('#staff').textContent()).not.toContain('另一个人');
  });

  it('disables a user: their open page leads to sign-in at once, and the password no longer opens one', async () => {
    await row('op.qian').getByRole('button', { name: '停用' }).click();
    await expect.poll(() => page.locator('#staff .notice').textContent()).toContain('已停用 钱接线员');
    expect(await row('op.qian').textContent()).toContain('已停用');
    await newcomer.reload();
    await newcomer.waitForURL(/\/sign-in/);
    await signIn(newcomer, 'op.qian', PASSWORD);
    await expect.poll(() => newcomer.locator('[role=alert]').textContent()).toContain('用户名或密码错误');

    await row('op.qian').getByRole('button', { name: '启用' }).click();
    await expect.poll(() => page.locator('#staff .notice').textContent()).toContain('已启用 钱接线员');
    await signIn(newcomer, 'op.qian', PASSWORD);
    await newcomer.waitForURL('**/operator');
  });

  it('resets a password: the old one stops at once, the new link sets another', async () => {
    await row('op.qian').getByRole('button', { name: '重置密码' }).click();
    await expect.poll(() => page.locator('#staff .notice').textContent()).toContain('旧密码已失效');
    const link = await secret();
    await newcomer.reload();
    await newcomer.waitForURL(/\/sign-in/);
    await signIn(newcomer, 'op.qian', PASSWORD);
    await expect.poll(() => newcomer.locator('[role=alert]').textContent()).toContain('用户名或密码错误');
    await newcomer.goto(new URL(link).pathname);
    await newcomer.getByLabel('新密码', { exact: true }).fill(`${PASSWORD}-2`);
    await newcomer.getByLabel('再次输入新密码').fill(`${PASSWORD}-2`);
    await newcomer.getByRole('button', { name: '设置密码' }).click();
    await signIn(newcomer, 'op.qian', `${PASSWORD}-2`);
    await newcomer.waitForURL('**/operator');
  });

  it('issues a token shown once, which works until revoked', async () => {
    const qian = row('op.qian');
    await qian.getByLabel('令牌用途（可选）').fill('坐席电话');
    await qian.getByRole('button', { name: '发放令牌' }).click();
    await expect.poll(() => page.locator('#staff .notice').textContent()).toContain('已为 op.qian 发放令牌');
    const token = await secret();
    const me = () =>
      stack.request(null, { method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
    expect((await me()).statusCode).toBe(200);
    // Shown once: the list after the next action holds no trace of it.
    await page.goto('/admin');
    expect(await page.content()).not.toContain(token);

    await row('op.qian').getByRole('button', { name: '吊销 坐席电话' }).click();
    await expect.poll(() => page.locator('#staff .notice').textContent()).toContain('已吊销 op.qian 的令牌');
    expect((await me()).statusCode).toBe(401);
    await expectAccessible(page);
  });

  it('offers no "Disable" on the admin’s own row', async () => {
    expect(await row(admin.user.userId).getByRole('button', { name: '停用' }).count()).toBe(0);
  });
});
