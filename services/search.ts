/**
 * The two questions a center asks many times a day: "has this person been warned before?" (every alert
 * and case of a victim phone) and "which other cases sent money to this account?" (every case that filed
 * a transfer to it or holds it, and how many stops it has had — a bank takes a repeated stop at most
 * twice). Scoped and masked like the lists; every search is written to the access log.
 */
import { and, desc, eq, inArray, isNotNull, or, sql } from 'drizzle-orm';
import type { Database } from '#db/client.js';
import { alerts, holds, stopPayments } from '#db/schema.js';
import type { User } from '#db/users.js';
import { hasRole, MAY } from '#domain/roles.js';
import { invalidField } from '#domain/refusal.js';
import { createAccessLog } from './access-log.js';
import { alertSummary, stationScope } from './alerts.js';
import { requireRole } from './decisions.js';
import { caseSummary, seesAllCases } from './stop-payments.js';

const LIMIT = 50;
const PHONE = /^1[3-9]\d{9}$/;
const ACCOUNT = /^\d{6,32}$/;

export function createSearchService({ db }: { db: Database }) {
  const accessLog = createAccessLog(db);
  const logSearch = (user: User, action: 'search_phone' | 'search_account', subject: string) =>
    accessLog(user, action, { subject });

  return {
    /** Every alert and case of one victim phone, newest first. */
    async byPhone(user: User, phone: string) {
      requireRole(user, MAY.searchPhones);
      if (!PHONE.test(phone)) throw invalidField('/phone', 'must be an 11-digit mobile number', 'querystring');
      await logSearch(user, 'search_phone', phone);
      const scope = stationScope(user);
      const [alertRows, caseRows] = await Promise.all([
        db
          .select({ detail: alerts.detail })
          .from(alerts)
          .where(and(eq(alerts.victimPhone, phone), scope !== null ? eq(alerts.stationId, scope) : undefined))
          .orderBy(desc(alerts.receivedAt))
          .limit(LIMIT),
        hasRole(user.roles, MAY.readStopPayments)
          ? db
              .select({ detail: stopPayments.detail })
              .from(stopPayments)
              .where(
                and(
                  eq(stopPayments.victimPhone, phone),
                  seesAllCases(user) ? undefined : eq(stopPayments.createdById, user.userId),
                ),
              )
              .orderBy(desc(stopPayments.createdAt))
              .limit(LIMIT)
          : [],
      ]);
      return {
        alerts: alertRows.map((row) => alertSummary(row.detail, user)),
        stopPayments: caseRows.map((row) => caseSummary(row.detail, user)),
      };
    },

    /** Every case that sent money to one account (filed, or holding it), newest first, and the stops made on it. */
    async byAccount(user: User, account: string) {
      requireRole(user, MAY.searchAccounts);
      if (!ACCOUNT.test(account)) throw invalidField('/account', 'must be 6-32 digits', 'querystring');
      await logSearch(user, 'search_account', account);
      const held = await db
        .selectDistinct({ stopPaymentId: holds.stopPaymentId })
        .from(holds)
        .where(eq(holds.account, account));
      const heldCases = [...new Set(held.map((h) => h.stopPaymentId))];
      const touching = or(
        sql`${stopPayments.detail} -> 'transfers' @> ${JSON.stringify([{ account }])}::jsonb`,
        heldCases.length > 0 ? inArray(stopPayments.stopPaymentId, heldCases) : undefined,
      );
      const [caseRows, [counted], [stops]] = await Promise.all([
        db
          .select({ detail: stopPayments.detail })
          .from(stopPayments)
          .where(and(touching, seesAllCases(user) ? undefined : eq(stopPayments.createdById, user.userId)))
          .orderBy(desc(stopPayments.createdAt))
          .limit(LIMIT),
        // Over every case: a call-taker sees how many cases and stops the account has had, not the others' cases.
        db
          .select({ n: sql<number>`count(*)::int` })
          .from(stopPayments)
          .where(touching),
        db
          .select({ n: sql<number>`count(*)::int` })
          .from(holds)
          .where(and(eq(holds.account, account), isNotNull(holds.stoppedAt))),
      ]);
      return {
        alerts: [],
        stopPayments: caseRows.map((row) => caseSummary(row.detail, user)),
        account: { account, cases: counted?.n ?? 0, stopsMade: stops?.n ?? 0 },
      };
    },
  };
}

export type SearchService = ReturnType<typeof createSearchService>;
