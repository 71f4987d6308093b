/**
 * Emergency stop-payment through the console, in Chromium: an operator's "defrauded" reaches the 110
 * desk without a reload and pre-fills a filing; field errors stand next to their fields; a double
 * submit files once; the filer cannot approve (no button, and the refusal in words when forced); a
 * second approver approves and the money trail shows the stops; a senior approver freezes a hold.
 */
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { extractText, getDocumentProxy } from 'unpdf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StopPaymentView } from '#domain/stop-payment.js';
import { alertApi, newAlert, readModelRow, waitFor } from '../helpers/alerts.js';
import { expectAccessible, launchBrowser, newPerson, screenshot, signInWithToken, tabTo } from '../helpers/browser.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';
import { account, caseWhen, stopPaymentApi } from '../helpers/stop-payments.js';

const LIVE_MS = 10_000;

let stack: Stack;
let browser: Browser;
let platform: Caller;
let operator: Caller;
let filer: Caller;
let approver: Caller;
let senior: Caller;
let supervisor: Caller;
let desk: Page;
const contexts: BrowserContext[] = [];

async function signedIn(caller: Caller, landing: string): Promise<Page> {
  const context = await newPerson(browser, stack.baseUrl);
  contexts.push(context);
  const page = await context.newPage();
  await signInWithToken(page, caller.token);
  await page.goto(landing);
  return page;
}

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
  [platform, operator, approver, senior, supervisor] = await Promise.all([
    stack.user(['platform']),
    stack.user(['operator']),
    stack.user(['approver'], { name: '审批人 李' }),
    stack.user(['senior_approver'], { name: '刘局' }),
    stack.user(['supervisor'], { name: '值班长 马' }),
  ]);
  // A call-taker who is also an approver: four-eyes must still keep them off their own case.
  filer = await stack.user(['calltaker', 'approver'], { name: '接警员 陈' });
  desk = await signedIn(filer, '/');
  // Two jobs, two pages: the home page lists them.
  expect(await desk.getByRole('link', { name: '紧急止付' }).count()).toBeGreaterThan(0);
  await expectAccessible(desk);
  await desk.goto('/calltaker');
});
afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await stack?.close();
});

/**
 * The text of a PDF, without the spaces and line breaks its layout puts between runs of glyphs, and in
 * NFKC: the CJK font maps some glyphs to their Kangxi radical code points (⽌ for 止).
 */
async function pdfText(pdf: Buffer): Promise<string> {
  const { text } = await extractText(await getDocumentProxy(new Uint8Array(pdf)), { mergePages: true });
  return text.normalize('NFKC').replace(/\s+/g, '');
}

const caseView = async (id: string) => (await stopPaymentApi(stack).get(approver, id)).json() as StopPaymentView;

/** Fills transfer row `i` of the filing form. */
async function transfer(page: Page, i: number, bank: string, acct: string, yuan: string) {
  await page.locator(`input[name=bank${i}]`).fill(bank);
  await page.locator(`input[name=account${i}]`).fill(acct);
  await page.locator(`input[name=amount${i}]`).fill(yuan);
  await page.locator(`input[name=at${i}]`).fill('2026-12-01T21:30');
}

describe('stop-payment in the console', () => {
  let stopPaymentId: string;
  let handedOverId: string;

  it('shows an alert an operator found defrauded at the 110 desk at once, and files from it', async () => {
    const alert = newAlert({ victim: { phone: '13612345678', name: '周女士' } });
    await alertApi(stack).ingest(platform, alert);
    await alertApi(stack).claim(operator, alert.alertId);
    await alertApi(stack).callResult(operator, alert.alertId, {
      result: 'contacted',
      outcome: 'already_defrauded',
      amountAtRiskFen: 12_000_000,
    });
    const handover = desk.locator(`#handovers [data-alert-id="${alert.alertId}"]`);
    await handover.waitFor({ timeout: LIVE_MS });
    expect(await handover.textContent()).toContain('136****5678');
    await expectAccessible(desk);

    await handover.getByRole('link').click();
    await desk.waitForURL(/fromAlert=/);
    expect(await desk.locator('input[name=victimName]').inputValue()).toBe('周女士');
    expect(await desk.locator('input[name=alertId]').inputValue()).toBe(alert.alertId);
    // The desk never sees the phone in full: left blank, it is taken from the handed-over alert.
    expect(await desk.locator('input[name=victimPhone]').inputValue()).toBe('');
    expect(await desk.locator('#victimPhone-hint').textContent()).toContain('136****5678');
    expect(await desk.locator('#linked').textContent()).toContain('周女士 · 136****5678');
    handedOverId = alert.alertId;
    await transfer(desk, 0, 'ICBC', account(), '80000');
    await transfer(desk, 1, 'CCB', account(), '40000.50');
    await screenshot(desk, 'calltaker');
    await desk.getByRole('button', { name: '发起紧急止付' }).click();
    await desk.waitForURL(/\/cases\//);
    stopPaymentId = decodeURIComponent(new URL(desk.url()).pathname.split('/')[2]!);
    const filed = await caseView(stopPaymentId);
    expect(filed).toMatchObject({ state: 'pending_approval', alertId: alert.alertId, requestedFen: 12_000_050 });
    const full = await stack.app.services.stopPayments.detail(filer.user, stopPaymentId);
    expect(full.transfers.map((t) => [t.bank, t.amountFen, t.transferredAt])).toEqual([
      ['ICBC', 8_000_000, '2026-12-01T21:30:00+08:00'],
      ['CCB', 4_000_050, '2026-12-01T21:30:00+08:00'],
    ]);
    expect(filed.createdBy.userId).toBe(filer.user.userId);
    expect(full.victim).toEqual({ name: '周女士', phone: '13612345678' });
  });

  it('puts each refusal next to its field and files nothing', async () => {
    const before = (await stopPaymentApi(stack).list(approver)).json().items.length;
    await desk.goto('/calltaker');
    await desk.locator('input[name=victimName]').fill('赵先生');
    await desk.locator('input[name=victimPhone]').fill('1234');
    await transfer(desk, 0, 'ICBC', '12ab', '100');
    // The browser's own checks would stop this form; the server's rule must hold without them.
    await desk.evaluate(() => document.querySelector<HTMLFormElement>('#filing')!.setAttribute('novalidate', ''));
    await desk.getByRole('button', { name: '发起紧急止付' }).click();
    await desk.locator('#victimPhone-error').waitFor();
    // Each refusal in the desk's words, beside its field.
    expect(await desk.locator('#victimPhone-error').textContent()).toBe('请填写 11 位手机号码（1 开头）。');
    expect(await desk.locator('#account0-error').textContent()).toBe('收款账号为 6–32 位数字。');
    expect(await desk.locator('input[name=victimPhone]').getAttribute('aria-invalid')).toBe('true');
    expect(await desk.locator('input[name=victimName]').inputValue()).toBe('赵先生');
    await expectAccessible(desk);
    expect((await stopPaymentApi(stack).list(approver)).json().items).toHaveLength(before);
  });

  it('looks up one alert by its exact ID, masked, to link it', async () => {
    await desk.goto('/calltaker');
    const alertId = desk.locator('input[name=alertId]');
    await alertId.fill('NO-SUCH-ALERT');
    await desk.getByRole('button', { name: '查找预警' }).click();
    await expect.poll(() => desk.locator('#linked').textContent()).toContain('没有编号为 NO-SUCH-ALERT 的预警');
    await alertId.fill(handedOverId);
    await desk.getByRole('button', { name: '查找预警' }).click();
    await expect.poll(() => desk.locator('#linked').textContent()).toContain('136****5678');
    await expectAccessible(desk);
    // Once a case links it, the alert no longer lends its phone: filed blank, the phone is refused in place.
    await readModelRow(stack, handedOverId, (row) => row.stopPaymentId !== null);
    const before = (await stopPaymentApi(stack).list(approver)).json().items.length;
    await desk.locator('input[name=victimName]').fill('周女士');
    await transfer(desk, 0, 'ICBC', account(), '100');
    await desk.evaluate(() => document.querySelector<HTMLFormElement>('#filing')!.setAttribute('novalidate', ''));
    await desk.getByRole('button', { name: '发起紧急止付' }).click();
    await desk.locator('#victimPhone-error').waitFor();
    expect(await desk.locator('input[name=alertId]').inputValue()).toBe(handedOverId);
    expect((await stopPaymentApi(stack).list(approver)).json().items).toHaveLength(before);
  });

  it('files once when the same form is sent twice', async () => {
    await desk.goto('/calltaker');
    const form = {
      _csrf: (await desk.locator('meta[name=csrf-token]').getAttribute('content'))!,
      idempotencyKey: (await desk.locator('#filing input[name=idempotencyKey]').inputValue())!,
      victimName: '孙先生',
      victimPhone: '13700001111',
      reportedAt: '2026-12-02T08:00',
      bank0: 'ABC',
      account0: account(),
      amount0: '5000',
      at0: '2026-12-02T07:30',
    };
    const [first, second] = await Promise.all(
      [0, 1].map(() => desk.request.post('/calltaker/file', { form, maxRedirects: 0 })),
    );
    expect([first!.status(), second!.status()]).toEqual([303, 303]);
    expect(first!.headers().location).toBe(second!.headers().location);
    const filedFor = async () =>
      ((await stopPaymentApi(stack).list(approver)).json().items as StopPaymentView[]).filter(
        (c) => c.victim.name === '孙先生',
      );
    await waitFor('the filing in the read model', async () => (await filedFor()).length > 0);
    expect(await filedFor()).toHaveLength(1);
  });

  it('files a stop-payment by keyboard alone', async () => {
    await desk.goto('/calltaker');
    const form = desk.locator('#filing');
    const first = form.getByRole('group', { name: '转账记录 1' });
    const type = async (field: Locator, text: string) => {
      await tabTo(desk, field);
      await desk.keyboard.type(text);
    };
    await type(form.getByLabel('受害人姓名'), '钱女士');
    await type(form.getByLabel('电话', { exact: true }), '13900002222');
    await type(first.getByLabel('收款银行'), 'BOC');
    const acct = account();
    await type(first.getByLabel('收款账号'), acct);
    await type(first.getByLabel('金额（元）'), '2500.5');
    // Debian's Chromium lays out a datetime-local field in its own UI locale: mm/dd/yyyy, hh:mm AM/PM.
    await tabTo(desk, desk.locator('input[name=at0]'));
    for (const part of ['12', '01', '2026']) await desk.keyboard.type(part);
    await desk.keyboard.press('ArrowRight');
    for (const part of ['09', '30', 'P']) await desk.keyboard.type(part);
    expect(await desk.locator('input[name=at0]').inputValue()).toBe('2026-12-01T21:30');
    await tabTo(desk, desk.getByRole('button', { name: '发起紧急止付' }));
    await desk.keyboard.press('Enter');
    await desk.waitForURL(/\/cases\//);
    const id = decodeURIComponent(new URL(desk.url()).pathname.split('/')[2]!);
    const filed = await stack.app.services.stopPayments.detail(filer.user, id);
    expect(filed.victim).toEqual({ name: '钱女士', phone: '13900002222' });
    expect(filed.transfers.map((t) => [t.bank, t.account, t.amountFen])).toEqual([['BOC', acct, 250_050]]);
  });

  it('keeps the filer off their own case: no Approve button, and a forced approval refused in words', async () => {
    await desk.goto(`/cases/${encodeURIComponent(stopPaymentId)}`);
    expect(await desk.getByRole('button', { name: '批准' }).count()).toBe(0);
    expect(await desk.locator('#case').textContent()).toContain('申请人不得审批本人案件');
    const csrf = (await desk.locator('meta[name=csrf-token]').getAttribute('content'))!;
    const forced = await desk.request.post(`/cases/${encodeURIComponent(stopPaymentId)}/approve`, {
      form: { _csrf: csrf, idempotencyKey: 'force' },
    });
    expect(forced.status()).toBe(403);
    expect(await forced.text()).toContain('申请人不得审批本人案件');
    expect((await caseView(stopPaymentId)).state).toBe('pending_approval');
  });

  it('lets a second approver approve from the queue; the money trail shows the stops', async () => {
    const page = await signedIn(approver, '/approver');
    const row = page.locator(`[data-case-id="${stopPaymentId}"]`);
    await row.waitFor({ timeout: LIVE_MS });
    await expectAccessible(page);
    await screenshot(page, 'approver');
    // By keyboard alone: to the case, the comment, "Approve".
    await tabTo(page, row.getByRole('link'));
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/cases\//);
    await tabTo(page, page.getByLabel('意见'));
    await page.keyboard.type('情况紧急，同意止付');
    await tabTo(page, page.getByRole('button', { name: '批准' }));
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#case .notice').textContent()).toContain('已提交');
    await caseWhen(
      stack,
      stopPaymentId,
      (v) => v.holds.length === 2 && v.holds.every((h) => h.state === 'stopped'),
      'both holds stopped',
    );
    await page.reload();
    const trail = page.locator('.trail');
    await expect.poll(async () => (await trail.locator('.hold-stopped').count()) >= 2).toBe(true);
    expect(await trail.textContent()).toContain('¥80000.00');
    // Earlier decisions in the center's words: who filed, who approved.
    const decisions = await page.locator('#case ol').first().textContent();
    expect(decisions).toMatch(/发起紧急止付 · 110 接警员[\s\S]*批准 · 审批人/);
    await expectAccessible(page);
  });

  it('lets a senior approver freeze a stopped hold under a legal document', async () => {
    const page = await signedIn(senior, '/senior');
    // Both stops of the case wait under "about to lapse", soonest first.
    const lapsing = page.locator('#stopped-title + ol > li');
    await expect.poll(() => lapsing.count(), { timeout: LIVE_MS }).toBe(2);
    expect(await page.locator('#frozen-title').textContent()).toBe('冻结即将到期（可续冻）');
    await expectAccessible(page);
    await screenshot(page, 'senior');
    // By keyboard alone: to the case, the legal document, "Freeze".
    await tabTo(page, lapsing.first().locator('a'));
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/cases\//);
    const order = page.locator('ul.orders li').first();
    await tabTo(page, order.getByLabel('法律文书编号'));
    await page.keyboard.type('冻字〔2026〕第118号');
    await page.keyboard.press('Enter');
    await caseWhen(stack, stopPaymentId, (v) => v.holds.some((h) => h.state === 'frozen'), 'a frozen hold');
    await page.reload();
    await page.locator('.trail .hold-frozen').first().waitFor();
    await screenshot(page, 'case');
    await expectAccessible(page);
    const frozen = (await caseView(stopPaymentId)).holds.find((h) => h.state === 'frozen')!;
    expect(frozen.legalDocRef).toBe('冻字〔2026〕第118号');
    // Back on the queue, the frozen hold now waits for its renewal.
    await page.goto('/senior');
    await page.locator(`#frozen-title + ol > li[data-hold-id="${frozen.holdId}"]`).waitFor({ timeout: LIVE_MS });
    expect(await page.locator('#stopped-title + ol > li').count()).toBe(1);
  });

  it('prints the stop-payment notice and the freeze notice: Chromium’s PDF carries the accounts and amounts', async () => {
    const view = await caseView(stopPaymentId);
    const page = await signedIn(senior, `/cases/${encodeURIComponent(stopPaymentId)}`);
    await page.getByRole('link', { name: '打印紧急止付通知书' }).click();
    await page.waitForURL(/\/notice$/);
    await page.getByRole('button', { name: '打印' }).waitFor();
    await expectAccessible(page);
    await screenshot(page, 'notice');
    const stopNotice = await pdfText(await page.pdf({ format: 'A4' }));
    expect(stopNotice).toContain('紧急止付通知书');
    expect(stopNotice).toContain(stopPaymentId);
    for (const hold of view.holds.filter((h) => h.stoppedFen > 0)) {
      expect(stopNotice).toContain(hold.account);
      expect(stopNotice).toContain(hold.holdId);
    }
    expect(stopNotice).toContain('¥80000.00');
    // (The font maps 民 and 角 to radical code points that no normalization folds back: match around them.)
    expect(stopNotice).toContain('捌万元整');
    expect(stopNotice).toContain('壹拾贰万元伍');
    expect(stopNotice).toContain(`合计¥${(view.stoppedFen / 100).toFixed(2)}`);

    const frozen = view.holds.find((h) => h.state === 'frozen')!;
    await page.goto(`/cases/${encodeURIComponent(stopPaymentId)}`);
    await page.getByRole('link', { name: `打印冻结通知书 ${frozen.holdId}` }).click();
    await page.waitForURL(/freeze-notice$/);
    await expectAccessible(page);
    const freezeNotice = await pdfText(await page.pdf({ format: 'A4' }));
    expect(freezeNotice).toContain('冻结通知书');
    expect(freezeNotice).toContain(frozen.account);
    expect(freezeNotice).toContain('冻字〔2026〕第118号');
    expect(freezeNotice).toContain(`¥${(frozen.frozenFen / 100).toFixed(2)}`);
    expect(freezeNotice).toContain('冻结决定人刘局');
  });

  it('searches by keyboard: the desk by receiving account, a supervisor by victim phone', async () => {
    const held = (await caseView(stopPaymentId)).holds[0]!;
    await desk.goto('/search');
    // A call-taker may ask about accounts only.
    expect(await desk.getByLabel('受害人电话', { exact: true }).count()).toBe(0);
    await tabTo(desk, desk.getByLabel('收款账号', { exact: true }));
    await desk.keyboard.type(held.account);
    await desk.keyboard.press('Enter');
    await desk.waitForURL(/account=/);
    expect(await desk.locator('#results .notice').textContent()).toContain(`账号 ${held.account}：共涉及 1 件`);
    await desk.locator(`#results [data-case-id="${stopPaymentId}"]`).waitFor();
    await expectAccessible(desk);

    const page = await signedIn(supervisor, '/search');
    await tabTo(page, page.getByLabel('受害人电话', { exact: true }));
    await page.keyboard.type('13612345678');
    await page.keyboard.press('Enter');
    await page.waitForURL(/phone=/);
    await page.locator(`#results [data-alert-id="${handedOverId}"]`).waitFor();
    const found = page.locator(`#results [data-case-id="${stopPaymentId}"]`);
    expect(await found.textContent()).toContain('136****5678');
    await screenshot(page, 'search');
    await expectAccessible(page);
    // A malformed question is answered in words, in place.
    await page.goto('/search?phone=12345');
    expect(await page.locator('#results [role=alert]').textContent()).toBe('请填写 11 位手机号码（1 开头）。');
  });
});
