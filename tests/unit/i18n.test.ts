/** The console's two catalogues say the same things: no key missing in either, no empty text, placeholders alike. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ALERT_STEP_KINDS, HOLD_STEP_KINDS, STOP_PAYMENT_STEP_KINDS } from '#domain/steps.js';
import { CATALOGUES, en, pickLanguage, sayRefusal, translator, zhCN, type MessageKey } from '#console/i18n.js';
import { invalidField, Refusal, REFUSAL_STATUS, type RefusalCode } from '#domain/refusal.js';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('console catalogues', () => {
  it('have the same keys, none empty, with the same placeholders', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(zhCN).sort());
    for (const catalogue of Object.values(CATALOGUES))
      for (const [key, text] of Object.entries(catalogue)) expect(text.trim(), key).not.toBe('');
    for (const key of Object.keys(zhCN) as (keyof typeof zhCN)[])
      expect(placeholders(en[key]), key).toEqual(placeholders(zhCN[key]));
  });

  it('speak the glossary: the main controls carry the names the center uses', () => {
    const zh = translator('zh-CN');
    const english = translator('en');
    expect([
      zh('operator.takeNext'),
      zh('operator.reached'),
      zh('operator.notReached'),
      zh('operator.refused'),
      zh('operator.release'),
    ]).toEqual(['领取下一条', '已接通', '未接通', '拒不配合', '退回']);
    // The accessible names the console issue fixes, exactly.
    const names: [MessageKey, string][] = [
      ['signIn.submit', 'Sign in'],
      ['signIn.signOut', 'Sign out'],
      ['signIn.withToken', 'Sign in with a token'],
      ['operator.takeNext', 'Take next'],
      ['operator.reached', 'Reached'],
      ['operator.notReached', 'Not reached'],
      ['operator.refused', 'Refused'],
      ['operator.release', 'Release'],
      ['station.transfer', 'Transfer'],
      ['station.recordVisit', 'Record visit'],
      ['calltaker.file', 'File stop-payment'],
      ['cases.approve', 'Approve'],
      ['cases.reject', 'Reject'],
      ['cases.freeze', 'Freeze'],
      ['cases.renew', 'Renew'],
      // Part 2: the supervisor's, auditor's and admin's pages.
      ['board.release', 'Release'],
      ['board.cancel', 'Cancel'],
      ['board.acknowledge', 'Acknowledge'],
      ['search.submit', 'Search'],
      ['admin.newUser', 'New user'],
      ['admin.resetPassword', 'Reset password'],
      ['admin.issueToken', 'Issue token'],
      ['admin.revoke', 'Revoke'],
      ['admin.disable', 'Disable'],
    ];
    expect(names.map(([key]) => english(key))).toEqual(names.map(([, name]) => name));
    expect(zh('enroll.intro', { name: '王五', login: 'wang.wu' })).toBe(
      '为 王五 设置登录密码（至少 12 个字符）。用户名：wang.wu',
    );
  });

  it('say every refusal in the reader’s words: each kind, and each refused field by its rule', () => {
    const zh = translator('zh-CN');
    // Sign-in answers its own refusals; every other kind has words of its own, not the English detail.
    const kinds = (Object.keys(REFUSAL_STATUS) as RefusalCode[]).filter(
      (code) => !['unauthenticated', 'locked', 'validation_failed'].includes(code),
    );
    for (const code of kinds) {
      const said = sayRefusal(new Refusal(code, 'english detail'), zh);
      expect(said, code).not.toContain('english detail');
      expect(said, code).toMatch(/[\u4e00-\u9fff]/);
    }
    expect(sayRefusal(invalidField('/transfers/2/account', 'must match pattern'), zh)).toBe('收款账号为 6–32 位数字。');
    expect(sayRefusal(invalidField('/stationId', 'bad'), translator('en'))).toBe(
      'A station code is 1–64 letters, digits, _ or -.',
    );
    // A field without a rule still says which field, rather than nothing.
    expect(sayRefusal(invalidField('/unheardOf', 'is wrong'), zh)).toBe('操作未完成：/unheardOf is wrong');
  });

  it('name every kind of timeline entry and every step in the center’s words', () => {
    const source = readFileSync(fileURLToPath(new URL('../../audit/timeline.ts', import.meta.url)), 'utf8');
    const timelineKinds = [...source.matchAll(/push\(\s*event,\s*'([a-z_]+)'/g)].map((m) => m[1]!);
    expect(timelineKinds.length).toBeGreaterThan(10);
    const steps = [...ALERT_STEP_KINDS, ...STOP_PAYMENT_STEP_KINDS, ...HOLD_STEP_KINDS];
    for (const kind of [...timelineKinds, ...steps]) {
      const keys = [`step.${kind}`, `kind.${kind}`].filter((key) => key in zhCN);
      expect(keys, kind).not.toEqual([]);
    }
  });

  it('picks the session’s language, else the browser’s, else Chinese', () => {
    expect(pickLanguage('en', 'zh-CN')).toBe('en');
    expect(pickLanguage(null, 'en-US,en;q=0.9')).toBe('en');
    expect(pickLanguage(undefined, 'fr-FR')).toBe('zh-CN');
    expect(pickLanguage('xx', undefined)).toBe('zh-CN');
  });
});
