/**
 * Alerts (预警劝阻): starting their workflows, every decision on them as an Update, reading them from
 * the workflow while it runs and from the read model after, and who may see which alert and phone.
 * Each method takes the user who acts; the role checks, station scoping and masking are here, so every
 * entry point (the JSON API, the console) applies the same ones.
 */
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type UpdateDefinition } from '@temporalio/common';
import { and, asc, desc, eq, gt, isNull, sql, type SQL } from 'drizzle-orm';
import type { FanzhaConfig } from '#config/index.js';
import type { Database } from '#db/client.js';
import { alerts } from '#db/schema.js';
import type { User } from '#db/users.js';
import {
  alertWorkflowId,
  maskPhone,
  type AlertInput,
  type AlertOutcome,
  type AlertState,
  type AlertView,
  type CallOutcome,
  type DecisionActor,
  type FraudType,
  type NotReachedReason,
  type RiskLevel,
  type VisitOutcome,
} from '#domain/alert.js';
import { invalidField, isRefusal, notFound, Refusal } from '#domain/refusal.js';
import { MAY } from '#domain/roles.js';
import { currentView, withTimeline } from '#read-model/current-view.js';
import type { AlertWorkflow } from '#workflows/alert.js';
import {
  callResultUpdate,
  cancelAlertUpdate,
  claimUpdate,
  forceReleaseUpdate,
  platformUpdateSignal,
  releaseUpdate,
  transferUpdate,
  visitResultUpdate,
  type CallResultDecision,
  type AlertAnswer,
} from '#workflows/messages.js';
import { createAccessLog } from './access-log.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { amountAtRisk, clientId, requiredText, saneTime } from './fields.js';
import { actorFor, requireRole, sendDecision, updateIdFor } from './decisions.js';

export interface AlertFilters {
  state?: AlertState;
  riskLevel?: RiskLevel;
  stationId?: string;
  overdue?: boolean;
  fraudType?: FraudType;
  outcome?: AlertOutcome;
  /** Only the alerts the caller holds (an operator's own calls). */
  assignedToMe?: boolean;
  limit: number;
  cursor?: string;
}

/** An operator's report of a call, as the person filled it in; checked here field by field. */
export interface CallReport {
  result: 'contacted' | 'not_reached';
  outcome?: CallOutcome;
  amountAtRiskFen?: number;
  reason?: NotReachedReason;
  note?: string;
}

/** How long a defrauded alert stays on the 110 desk's list of hand-overs. */
const HANDOVER_DAYS = 7;

/** Alerts an operator found already defrauded in the last week that no case links yet: the 110 desk's to file. */
export const handedOverToThe110Desk = () =>
  and(
    eq(alerts.outcome, 'defrauded'),
    isNull(alerts.stopPaymentId),
    gt(alerts.closedAt, new Date(Date.now() - HANDOVER_DAYS * 86_400_000)),
  );

type Cursor = [string, number, string, string];
const isCursor = (v: unknown): v is Cursor =>
  Array.isArray(v) &&
  v.length === 4 &&
  typeof v[0] === 'string' &&
  typeof v[1] === 'number' &&
  typeof v[2] === 'string' &&
  typeof v[3] === 'string';

/** A station officer (who is not also a supervisor or other center role) sees only their station. */
export const stationScope = (user: User): string | null =>
  user.roles.includes('station') && !user.roles.some((r) => r === 'supervisor' || r === 'operator' || r === 'auditor')
    ? user.stationId
    : null;

/** Phones are shown whole only to the assignee and to the officer of the alert's station. */
export function presentAlert<T extends Pick<AlertView, 'victim' | 'assignee' | 'stationId'>>(view: T, user: User): T {
  const mayShow =
    view.assignee?.userId === user.userId ||
    (user.roles.includes('station') && user.stationId !== null && user.stationId === view.stationId);
  return mayShow ? view : { ...view, victim: { ...view.victim, phone: maskPhone(view.victim.phone) } };
}

/** Whether `shown` (the alert as presented) carries personal data whole: then its reading goes on the access log. */
const showsWhole = (view: Pick<AlertView, 'victim' | 'suspect'>, shown: Pick<AlertView, 'victim'>) =>
  shown.victim.phone === view.victim.phone || Boolean(view.suspect?.phone || view.suspect?.account);

/** An alert as lists show it: without its timeline, suspect and platform note; masked for `user`. */
export function alertSummary(detail: unknown, user: User) {
  const { timeline: _timeline, suspect: _suspect, note: _note, ...summary } = detail as AlertView;
  return presentAlert(summary, user);
}

/** The decision a call report stands for; a field that does not fit the result is refused by name. */
function callDecision(report: CallReport, actor: DecisionActor): CallResultDecision {
  if (report.result === 'contacted') {
    if (!report.outcome) throw invalidField('/outcome', 'is required when result is contacted');
    if (report.reason) throw invalidField('/reason', 'is only for result not_reached');
    return {
      actor,
      result: 'contacted',
      outcome: report.outcome,
      amountAtRiskFen: amountAtRisk(report.amountAtRiskFen),
      note: report.note,
    };
  }
  if (report.outcome) throw invalidField('/outcome', 'is only for result contacted');
  if (report.amountAtRiskFen !== undefined) throw invalidField('/amountAtRiskFen', 'is only for result contacted');
  return { actor, result: 'not_reached', reason: report.reason, note: report.note };
}

/** At most this long is an alert offered to one operator taking next tried last by the others (a claim answers sooner). */
const OFFER_MS = 5_000;

/**
 * The alerts this process is offering to an operator taking next, until their claim is answered. Operators taking next at once
 * would otherwise all race for the same most urgent alert — one wins, the others each spend an Update
 * (and the workflow's limit of Updates in flight) to be refused, then race for the second. Order stays
 * by urgency among the alerts nobody was just offered.
 */
function recentOffers() {
  const until = new Map<string, number>();
  return {
    offer(alertId: string) {
      until.set(alertId, Date.now() + OFFER_MS);
    },
    /** The claim has been answered: whoever takes next from now on sees the alert as it is. */
    withdraw(alertId: string) {
      until.delete(alertId);
    },
    /** Candidates in urgency order, those just offered to someone else last. */
    order(alertIds: string[]): string[] {
      const now = Date.now();
      for (const [id, end] of until) if (end <= now) until.delete(id);
      return [...alertIds.filter((id) => !until.has(id)), ...alertIds.filter((id) => until.has(id))];
    },
  };
}

export function createAlertService(deps: { db: Database; temporal: Client; config: FanzhaConfig }) {
  const { db, temporal, config } = deps;

  const handle = (alertId: string) => temporal.workflow.getHandle<typeof AlertWorkflow>(alertWorkflowId(alertId));
  const offers = recentOffers();
  const accessLog = createAccessLog(db);

  /** Puts `user`'s reading of the alert on the access log when what they are shown of it has a phone or account whole. */
  async function logReading(
    user: User,
    view: Pick<AlertView, 'victim' | 'suspect' | 'assignee' | 'stationId' | 'workflowId'>,
    shown: Pick<AlertView, 'victim'> = presentAlert(view, user),
  ) {
    if (showsWhole(view, shown)) await accessLog(user, 'alert_read', { workflowId: view.workflowId });
  }

  /** The alert masked for `user`; on the access log when what they are shown has a phone or account whole. */
  async function shownTo(user: User, view: AlertView): Promise<AlertView> {
    const shown = presentAlert(view, user);
    await logReading(user, view, shown);
    return shown;
  }

  /** The alert's authoritative view: the workflow's own newest view while it runs, the read model once closed. */
  async function view(alertId: string): Promise<AlertView | null> {
    const [row] = await db
      .select({ state: alerts.state, detail: alerts.detail })
      .from(alerts)
      .where(eq(alerts.alertId, alertId));
    return currentView<AlertView>(
      { temporal, db },
      alertWorkflowId(alertId),
      row && { closed: row.state === 'closed', detail: row.detail },
    );
  }

  /** The alert if `user` may see it (a station officer sees only their station's), unmasked: for checks, never for showing. */
  async function visible(alertId: string, user: User): Promise<AlertView> {
    requireRole(user, MAY.readAlerts);
    const found = await view(alertId);
    const scope = stationScope(user);
    if (!found || (scope !== null && found.stationId !== scope)) throw notFound(`Alert ${alertId}`);
    return found;
  }

  /**
   * Who reports a visit or moves an alert on: the officer of the alert's own station (acting as
   * station), else a supervisor (for any station). With several roles, a user acts in the one that
   * allows it; as a station officer never for another station's alert, whatever else they hold.
   */
  async function visitActor(user: User, alertId: string): Promise<{ actor: DecisionActor; stationId?: string }> {
    const actor = actorFor(user, MAY.visitAlerts);
    const found = await visible(alertId, user);
    if (user.roles.includes('station') && user.stationId !== null && user.stationId === found.stationId)
      return { actor: { ...actor, role: 'station' }, stationId: user.stationId };
    if (user.roles.includes('supervisor')) return { actor: { ...actor, role: 'supervisor' } };
    throw new Refusal(
      'forbidden',
      `Alert ${alertId} belongs to station ${found.stationId}; a station officer reports visits and moves alerts only for their own station.`,
    );
  }

  /** Sends a decision; the Idempotency-Key (per user) becomes the Update ID, so a retry has one effect. The answer is masked for `user`. */
  async function decide<D extends { actor: DecisionActor }>(
    alertId: string,
    user: User,
    update: UpdateDefinition<AlertAnswer, [D]>,
    decision: D,
    idempotencyKey: string | null,
  ): Promise<AlertView> {
    if (stationScope(user) !== null) await visible(alertId, user);
    try {
      const answer = await sendDecision(
        handle(alertId),
        update,
        [decision],
        updateIdFor(user, idempotencyKey),
        `Alert ${alertId} is closed; it takes no more decisions.`,
      );
      // What is shown whole is known from the answer: its access-log entry is written while the timeline is
      // read (one round trip less to wait for; should reading the timeline fail, the entry errs on the side of a read).
      const [view] = await Promise.all([
        withTimeline({ temporal, db }, alertWorkflowId(alertId), answer),
        logReading(user, answer),
      ]);
      return presentAlert(view, user);
    } catch (error) {
      // An unknown alert is "not found", not "closed".
      if (isRefusal(error) && error.code === 'invalid_transition' && !(await view(alertId)))
        throw notFound(`Alert ${alertId}`);
      throw error;
    }
  }

  return {
    /**
     * The platform's push. `requestKey` (the user-scoped Idempotency-Key) is kept in the workflow's
     * memo: a retry of the request that started it (its first answer lost with a killed API process)
     * is recognised and answered as the first time, instead of being taken for a second push.
     */
    async ingest(
      user: User,
      input: AlertInput,
      idempotencyKey: string | null,
    ): Promise<{ created: boolean; state: AlertState }> {
      requireRole(user, MAY.ingestAlerts);
      saneTime(input.issuedAt, '/issuedAt');
      const requestKey = idempotencyKey && `${user.userId}:${idempotencyKey}`;
      const workflowId = alertWorkflowId(input.alertId);
      const receivedAt = new Date().toISOString();
      const startedByThisRequest = async () =>
        requestKey !== null &&
        (
          await handle(input.alertId)
            .describe()
            .catch(() => null)
        )?.memo?.ingestRequest === requestKey;
      // A closed alert stays closed: its repeated push is a duplicate, never a new case.
      const [known] = await db.select({ state: alerts.state }).from(alerts).where(eq(alerts.alertId, input.alertId));
      if (known?.state === 'closed')
        return (await startedByThisRequest())
          ? { created: true, state: 'queued' }
          : { created: false, state: 'closed' };
      try {
        await temporal.workflow.start<typeof AlertWorkflow>('AlertWorkflow', {
          taskQueue: config.temporal.taskQueue,
          workflowId,
          args: [{ alert: input, receivedAt, policy: config.policy.alert }],
          // The workflow ID is the alert ID: the server, not a read-then-write, makes a push unique.
          workflowIdConflictPolicy: 'FAIL',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          ...(requestKey !== null ? { memo: { ingestRequest: requestKey } } : {}),
        });
        return { created: true, state: 'queued' };
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      }
      if (await startedByThisRequest()) return { created: true, state: 'queued' };
      try {
        await handle(input.alertId).signal(platformUpdateSignal, {
          riskLevel: input.riskLevel,
          receivedAt,
          note: input.note,
        });
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
      const [row] = await db.select({ state: alerts.state }).from(alerts).where(eq(alerts.alertId, input.alertId));
      return { created: false, state: (row?.state as AlertState | undefined) ?? 'queued' };
    },

    /** Most urgent first: earliest deadline (none last), then higher risk, then oldest. Masked for `user`. */
    async list(user: User, filters: AlertFilters) {
      requireRole(user, MAY.readAlerts);
      const scope = stationScope(user);
      const conditions: (SQL | undefined)[] = [
        filters.state ? eq(alerts.state, filters.state) : undefined,
        filters.riskLevel ? eq(alerts.riskLevel, filters.riskLevel) : undefined,
        filters.stationId ? eq(alerts.stationId, filters.stationId) : undefined,
        filters.overdue !== undefined ? eq(alerts.overdue, filters.overdue) : undefined,
        filters.fraudType ? eq(alerts.fraudType, filters.fraudType) : undefined,
        filters.outcome ? eq(alerts.outcome, filters.outcome) : undefined,
        scope !== null ? eq(alerts.stationId, scope) : undefined,
        filters.assignedToMe ? eq(alerts.assigneeId, user.userId) : undefined,
      ];
      const dueKey = sql`coalesce(${alerts.deadline}, 'infinity'::timestamptz)`;
      const after = decodeCursor(filters.cursor, isCursor);
      if (after)
        conditions.push(
          sql`(${dueKey}, ${alerts.riskRank}, ${alerts.receivedAt}, ${alerts.alertId}) > (${after[0]}::timestamptz, ${after[1]}, ${after[2]}::timestamptz, ${after[3]})`,
        );
      const rows = await db
        .select()
        .from(alerts)
        .where(and(...conditions))
        .orderBy(asc(dueKey), asc(alerts.riskRank), asc(alerts.receivedAt), asc(alerts.alertId))
        .limit(filters.limit + 1);
      const page = rows.slice(0, filters.limit);
      const last = page[page.length - 1];
      return {
        items: page.map((row) => alertSummary(row.detail, user)),
        nextCursor:
          rows.length > filters.limit && last
            ? encodeCursor([
                last.deadline ? last.deadline.toISOString() : 'infinity',
                last.riskRank,
                last.receivedAt.toISOString(),
                last.alertId,
              ])
            : null,
      };
    },

    /**
     * The alerts an operator found already defrauded and no case links yet: handed to the 110 desk,
     * newest first, masked (the call-taker confirms the phone with the victim on the line).
     */
    async handedOver(user: User, filters: { alertId?: string; limit: number }) {
      requireRole(user, MAY.fileStopPayments);
      const rows = await db
        .select({ detail: alerts.detail })
        .from(alerts)
        .where(filters.alertId ? eq(alerts.alertId, filters.alertId) : handedOverToThe110Desk())
        .orderBy(desc(alerts.closedAt))
        .limit(filters.limit);
      return rows.map((row) => {
        const view = row.detail as AlertView;
        return {
          alertId: view.alertId,
          state: view.state,
          outcome: view.outcome,
          fraudType: view.fraudType,
          victim: { name: view.victim.name, phone: maskPhone(view.victim.phone) },
          amountAtRiskFen: view.amountAtRiskFen,
          closedAt: view.closedAt,
          stopPaymentId: view.stopPaymentId,
        };
      });
    },

    /** One alert as `user` may see it: refused as not found outside their scope, masked for them. */
    async detail(user: User, alertId: string): Promise<AlertView> {
      return shownTo(user, await visible(alertId, user));
    },

    /**
     * Claims the most urgent queued alert for the operator, moving on when another operator wins the
     * race (or the alert has too many decisions in flight); null when none is left. Operators taking
     * next at once are spread: an alert just offered to one is tried last by the others.
     */
    async takeNext(user: User, idempotencyKey: string | null): Promise<AlertView | null> {
      const actor = actorFor(user, MAY.callAlerts);
      const tried = new Set<string>();
      for (let round = 0; round < 5; round++) {
        const candidates = await db
          .select({ alertId: alerts.alertId })
          .from(alerts)
          .where(eq(alerts.state, 'queued'))
          .orderBy(
            asc(sql`coalesce(${alerts.deadline}, 'infinity'::timestamptz)`),
            asc(alerts.riskRank),
            asc(alerts.receivedAt),
          )
          .limit(10 + tried.size);
        const fresh = offers.order(candidates.map((c) => c.alertId).filter((id) => !tried.has(id)));
        if (fresh.length === 0) return null;
        for (const alertId of fresh) {
          tried.add(alertId);
          offers.offer(alertId);
          try {
            return await decide(
              alertId,
              user,
              claimUpdate,
              { actor },
              idempotencyKey && `${idempotencyKey}:${alertId}`,
            );
          } catch (error) {
            if (
              isRefusal(error) &&
              (error.code === 'invalid_transition' ||
                error.code === 'not_assignee' ||
                error.code === 'conflict' ||
                error.code === 'unavailable')
            )
              continue;
            throw error;
          } finally {
            offers.withdraw(alertId);
          }
        }
      }
      return null;
    },

    claim: (user: User, alertId: string, idempotencyKey: string | null) =>
      decide(alertId, user, claimUpdate, { actor: actorFor(user, MAY.callAlerts) }, idempotencyKey),

    release: (user: User, alertId: string, input: { note?: string }, idempotencyKey: string | null) =>
      decide(alertId, user, releaseUpdate, { actor: actorFor(user, MAY.callAlerts), note: input.note }, idempotencyKey),

    /** A supervisor takes a held alert back to the queue, with a reason the history keeps. */
    forceRelease: (user: User, alertId: string, input: { reason: string }, idempotencyKey: string | null) => {
      const actor = actorFor(user, MAY.superviseAlerts);
      requiredText(input.reason, '/reason', 500);
      return decide(alertId, user, forceReleaseUpdate, { actor, reason: input.reason }, idempotencyKey);
    },

    reportCall: (user: User, alertId: string, report: CallReport, idempotencyKey: string | null) =>
      decide(alertId, user, callResultUpdate, callDecision(report, actorFor(user, MAY.callAlerts)), idempotencyKey),

    reportVisit: async (
      user: User,
      alertId: string,
      input: { outcome: VisitOutcome; note?: string },
      idempotencyKey: string | null,
    ) =>
      decide(
        alertId,
        user,
        visitResultUpdate,
        { ...(await visitActor(user, alertId)), outcome: input.outcome, note: input.note },
        idempotencyKey,
      ),

    transfer: async (
      user: User,
      alertId: string,
      input: { stationId: string; reason: string },
      idempotencyKey: string | null,
    ) => {
      // What the JSON API's schema checks, checked here too: every entry point refuses the same transfers.
      clientId(input.stationId, '/stationId');
      requiredText(input.reason, '/reason', 500);
      return decide(
        alertId,
        user,
        transferUpdate,
        { actor: (await visitActor(user, alertId)).actor, stationId: input.stationId, reason: input.reason },
        idempotencyKey,
      );
    },

    cancel: (user: User, alertId: string, input: { reason: string }, idempotencyKey: string | null) => {
      const actor = actorFor(user, MAY.cancelAlerts);
      requiredText(input.reason, '/reason', 500);
      return decide(alertId, user, cancelAlertUpdate, { actor, reason: input.reason }, idempotencyKey);
    },
  };
}

export type AlertService = ReturnType<typeof createAlertService>;
