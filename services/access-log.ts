/**
 * The access log (audit_access_log): who read which case or personal data, and how. One writer for
 * every reader — the auditor's pages, the searches, and each answer that shows a phone or an account
 * whole — so an admin reads one trail.
 */
import type { Database } from '#db/client.js';
import { auditAccessLog } from '#db/schema.js';
import type { User } from '#db/users.js';

export const ACCESS_ACTIONS = [
  'timeline',
  'history',
  'replay',
  'archive_list',
  'archive_verify',
  'search_phone',
  'search_account',
  /** An alert shown with its victim's phone, or its suspect's phone or account, whole. */
  'alert_read',
  /** A stop-payment case shown with its accounts (and, to its filer, the victim's phone) whole. */
  'stop_payment_read',
] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];

export function createAccessLog(db: Database) {
  return (user: User, action: AccessAction, about: { workflowId?: string | null; subject?: string | null } = {}) =>
    db
      .insert(auditAccessLog)
      .values({ userId: user.userId, action, workflowId: about.workflowId ?? null, subject: about.subject ?? null })
      .then(() => undefined);
}

export type AccessLog = ReturnType<typeof createAccessLog>;
