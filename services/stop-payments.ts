/**
 * Stop-payment cases (紧急止付): filing starts the case workflow, decisions are Updates to the case or
 * to one of its holds, reads come from the workflow while it runs and from the read model after. Each
 * method takes the user who acts: role checks, who sees which case, four-eyes (in the workflow) and
 * masking apply the same through every entry point.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, type UpdateDefinition } from '@temporalio/common';
import { and, asc, desc, eq, inArray, isNotNull, sql, type SQL } from 'drizzle-orm';
import type { FanzhaConfig } from '#config/index.js';
import type { Database } from '#db/client.js';
import { alerts, caseEvents, holds, stopPayments, users } from '#db/schema.js';
import type { User } from '#db/users.js';
import { maskPhone, type AlertView, type DecisionActor } from '#domain/alert.js';
import { invalidField, notFound, Refusal } from '#domain/refusal.js';
import { hasRole, MAY } from '#domain/roles.js';
import {
  holdWorkflowId,
  stopPaymentWorkflowId,
  type HoldView,
  type StopPaymentInput,
  type StopPaymentState,
  type StopPaymentView,
} from '#domain/stop-payment.js';
import { currentView, withTimeline } from '#read-model/current-view.js';
import {
  approveUpdate,
  freezeUpdate,
  rejectUpdate,
  releaseCaseUpdate,
  renewUpdate,
  restopUpdate,
  type StopPaymentAnswer,
} from '#workflows/messages.js';
import type { StopPaymentWorkflow } from '#workflows/stop-payment.js';
import { handedOverToThe110Desk } from './alerts.js';
import { createAccessLog } from './access-log.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { checkFiling, requiredText } from './fields.js';
import { actorFor, requireRole, sendDecision, updateIdFor } from './decisions.js';

/** A call-taker sees the cases they filed; the other readers see every case. */
export const seesAllCases = (user: User) => hasRole(user.roles, MAY.readAllStopPayments);

/** The victim's phone is shown whole only to the call-taker who filed the case. */
export function presentCase<T extends Pick<StopPaymentView, 'victim' | 'createdBy'>>(view: T, user: User): T {
  return view.createdBy.userId === user.userId
    ? view
    : { ...view, victim: { ...view.victim, phone: maskPhone(view.victim.phone) } };
}

/** A case as lists show it: without holds, timeline and transfers; masked for `user`. */
export function caseSummary(detail: unknown, user: User) {
  const { holds: _h, timeline: _t, transfers: _tr, ...summary } = detail as StopPaymentView;
  return presentCase(summary, user);
}

type Cursor = [number, string, number, string];
const isCursor = (v: unknown): v is Cursor =>
  Array.isArray(v) &&
  v.length === 4 &&
  typeof v[0] === 'number' &&
  typeof v[1] === 'string' &&
  typeof v[2] === 'number' &&
  typeof v[3] === 'string';

export function createStopPaymentService(deps: { db: Database; temporal: Client; config: FanzhaConfig }) {
  const { db, temporal, config } = deps;
  const caseHandle = (id: string) => temporal.workflow.getHandle<typeof StopPaymentWorkflow>(stopPaymentWorkflowId(id));
  const accessLog = createAccessLog(db);

  /**
   * The case masked for `user`, on the access log: a case always shows accounts whole (the transfers
   * and holds), and to its filer the victim's phone.
   */
  async function shownTo(user: User, view: StopPaymentView): Promise<StopPaymentView> {
    await accessLog(user, 'stop_payment_read', { workflowId: view.workflowId });
    return presentCase(view, user);
  }

  async function view(id: string): Promise<StopPaymentView | null> {
    const [row] = await db
      .select({ state: stopPayments.state, detail: stopPayments.detail })
      .from(stopPayments)
      .where(eq(stopPayments.stopPaymentId, id));
    return currentView<StopPaymentView>(
      { temporal, db },
      stopPaymentWorkflowId(id),
      row && { closed: row.state === 'closed' || row.state === 'rejected', detail: row.detail },
    );
  }

  /** The case if `user` may see it, unmasked: for checks, never for showing. */
  async function visible(id: string, user: User): Promise<StopPaymentView> {
    requireRole(user, MAY.readStopPayments);
    const found = await view(id);
    if (!found || (!seesAllCases(user) && found.createdBy.userId !== user.userId)) throw notFound(`Stop-payment ${id}`);
    return found;
  }

  async function decideCase<D extends { actor: DecisionActor }>(
    id: string,
    user: User,
    update: UpdateDefinition<StopPaymentAnswer, [D]>,
    decision: D,
    idempotencyKey: string | null,
  ): Promise<StopPaymentView> {
    await visible(id, user);
    const answer = await sendDecision(
      caseHandle(id),
      update,
      [decision],
      updateIdFor(user, idempotencyKey),
      `Stop-payment ${id} has ended; it takes no more decisions.`,
    );
    return shownTo(user, await withTimeline({ temporal, db }, stopPaymentWorkflowId(id), answer));
  }

  /** A decision on one hold: sent to the hold's own workflow; the answer is the case with that hold as it is now. */
  async function decideHold<D extends { actor: DecisionActor }>(
    id: string,
    holdId: string,
    user: User,
    update: UpdateDefinition<HoldView, [D]>,
    decision: D,
    idempotencyKey: string | null,
  ): Promise<StopPaymentView> {
    const found = await visible(id, user);
    if (!found.holds.some((h) => h.holdId === holdId)) throw notFound(`Hold ${holdId} of stop-payment ${id}`);
    const hold = await sendDecision(
      temporal.workflow.getHandle(holdWorkflowId(holdId)),
      update,
      [decision],
      updateIdFor(user, idempotencyKey),
      `Hold ${holdId} has ended; it takes no more decisions.`,
    );
    const current = (await view(id)) ?? found;
    return shownTo(user, { ...current, holds: current.holds.map((h) => (h.holdId === hold.holdId ? hold : h)) });
  }

  /** A freeze and its renewal are one kind of order: a senior approver's, under a legal document. */
  const freezeOrder =
    (update: typeof freezeUpdate | typeof renewUpdate) =>
    (
      user: User,
      id: string,
      holdId: string,
      input: { legalDocRef: string; note?: string },
      idempotencyKey: string | null,
    ) =>
      decideHold(
        id,
        holdId,
        user,
        update,
        {
          actor: actorFor(user, MAY.freezeStopPayments),
          legalDocRef: requiredText(input.legalDocRef, '/legalDocRef', 128),
          note: input.note,
        },
        idempotencyKey,
      );

  /**
   * Filing from an operator's hand-over, the call-taker may leave the victim's phone blank: it is taken
   * from the handed-over alert, so the desk never needs the masked number in full to file.
   */
  async function withPhoneFromHandover(input: StopPaymentInput): Promise<StopPaymentInput> {
    const blank = typeof input?.victim?.phone === 'string' && input.victim.phone.trim() === '';
    if (!blank || typeof input.alertId !== 'string') return input;
    const [row] = await db
      .select({ detail: alerts.detail })
      .from(alerts)
      .where(and(eq(alerts.alertId, input.alertId), handedOverToThe110Desk()));
    if (!row) return input;
    return { ...input, victim: { ...input.victim, phone: (row.detail as AlertView).victim.phone } };
  }

  /**
   * One case per alert: the alert, named by its exact ID, is taken for this case in one statement
   * (compare-and-set on its row), so of two filings at once for one alert only one is filed. A case
   * that was rejected lets the alert go to a new one; a retry of the same filing keeps it. The link
   * itself (the workflow's signal, or the read model for a closed alert) sets nothing but the case ID:
   * never the alert's state or outcome.
   */
  async function reserveAlert(alertId: string, stopPaymentId: string) {
    const taken = await db
      .update(alerts)
      .set({ stopPaymentId })
      .where(
        and(
          eq(alerts.alertId, alertId),
          sql`(${alerts.stopPaymentId} is null or ${alerts.stopPaymentId} = ${stopPaymentId} or exists (
            select 1 from ${stopPayments} where ${stopPayments.stopPaymentId} = ${alerts.stopPaymentId}
               and ${stopPayments.state} = 'rejected'))`,
        ),
      )
      .returning({ alertId: alerts.alertId });
    if (taken.length === 1) return;
    const [row] = await db
      .select({ stopPaymentId: alerts.stopPaymentId })
      .from(alerts)
      .where(eq(alerts.alertId, alertId));
    if (!row) throw invalidField('/alertId', 'names no alert this center has received (give its exact ID)');
    throw new Refusal(
      'conflict',
      `Alert ${alertId} is already linked to stop-payment ${row.stopPaymentId}; file without the alert, or add to that case.`,
      [{ pointer: '/alertId', in: 'body', detail: `is already linked to stop-payment ${row.stopPaymentId}` }],
    );
  }

  /** A filing that did not start gives its alert back. */
  async function releaseAlert(alertId: string, stopPaymentId: string) {
    await db
      .update(alerts)
      .set({ stopPaymentId: null })
      .where(and(eq(alerts.alertId, alertId), eq(alerts.stopPaymentId, stopPaymentId)));
  }

  return {
    /**
     * With an Idempotency-Key the case ID is derived from (user, key), so even a retry whose first
     * answer was lost finds the same workflow instead of filing the case twice.
     */
    async file(user: User, input: StopPaymentInput, idempotencyKey: string | null) {
      const createdBy = actorFor(user, MAY.fileStopPayments);
      input = await withPhoneFromHandover(input);
      checkFiling(input);
      const day = new Date().toISOString().slice(0, 10).replace(/-/g, '');
      const suffix = idempotencyKey
        ? createHash('sha256').update(`${user.userId}\u0000${idempotencyKey}`).digest('base64url').slice(0, 12)
        : randomBytes(9).toString('base64url');
      const stopPaymentId = `SP-${day}-${suffix}`.replace(/[^A-Za-z0-9_-]/g, '_');
      if (input.alertId) await reserveAlert(input.alertId, stopPaymentId);
      try {
        await temporal.workflow.start<typeof StopPaymentWorkflow>('StopPaymentWorkflow', {
          taskQueue: config.temporal.taskQueue,
          workflowId: stopPaymentWorkflowId(stopPaymentId),
          args: [
            {
              stopPaymentId,
              filing: input,
              createdBy,
              createdAt: new Date().toISOString(),
              policy: config.policy.stopPayment,
            },
          ],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        });
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) {
          if (input.alertId) await releaseAlert(input.alertId, stopPaymentId);
          throw error;
        }
      }
      return { stopPaymentId, workflowId: stopPaymentWorkflowId(stopPaymentId), state: 'pending_approval' as const };
    },

    /** Pending approvals first, most urgent deadline first; then the newest cases. Masked for `user`. */
    async list(user: User, filters: { state?: StopPaymentState; limit: number; cursor?: string }) {
      requireRole(user, MAY.readStopPayments);
      const rank = sql<number>`(case when ${stopPayments.state} = 'pending_approval' then 0 else 1 end)`;
      const due = sql`coalesce(${stopPayments.deadline}, 'infinity'::timestamptz)`;
      const age = sql<number>`(-extract(epoch from ${stopPayments.createdAt}) * 1000)`;
      const conditions: (SQL | undefined)[] = [
        filters.state ? eq(stopPayments.state, filters.state) : undefined,
        seesAllCases(user) ? undefined : eq(stopPayments.createdById, user.userId),
      ];
      const after = decodeCursor(filters.cursor, isCursor);
      if (after)
        conditions.push(
          sql`(${rank}, ${due}, ${age}, ${stopPayments.stopPaymentId}) > (${after[0]}, ${after[1]}::timestamptz, ${after[2]}, ${after[3]})`,
        );
      const rows = await db
        .select({
          detail: stopPayments.detail,
          rank,
          deadline: stopPayments.deadline,
          createdAt: stopPayments.createdAt,
          id: stopPayments.stopPaymentId,
        })
        .from(stopPayments)
        .where(and(...conditions))
        .orderBy(asc(rank), asc(due), desc(stopPayments.createdAt), asc(stopPayments.stopPaymentId))
        .limit(filters.limit + 1);
      const page = rows.slice(0, filters.limit);
      const last = page[page.length - 1];
      return {
        items: page.map((row) => caseSummary(row.detail, user)),
        nextCursor:
          rows.length > filters.limit && last
            ? encodeCursor([
                Number(last.rank),
                last.deadline ? last.deadline.toISOString() : 'infinity',
                -last.createdAt.getTime(),
                last.id,
              ])
            : null,
      };
    },

    /**
     * Money held only until a date, soonest first: stops that lapse unless frozen, freezes that expire
     * unless renewed — the senior approver's queue.
     */
    async holdsRunningOut(user: User, limit = 50) {
      requireRole(user, MAY.freezeStopPayments);
      return db
        .select({
          holdId: holds.holdId,
          stopPaymentId: holds.stopPaymentId,
          bank: holds.bank,
          account: holds.account,
          state: holds.state,
          stoppedFen: holds.stoppedFen,
          frozenFen: holds.frozenFen,
          expiresAt: holds.expiresAt,
        })
        .from(holds)
        .where(inArray(holds.state, ['stopped', 'frozen']))
        .orderBy(asc(holds.expiresAt), asc(holds.holdId))
        .limit(limit);
    },

    /**
     * Who decided what on one hold of a case (freeze, renewal, re-stop, release), oldest first: what a
     * freeze notice names. Read from the hold's projected steps; the case's readers may read them.
     */
    async holdDecisions(user: User, id: string, holdId: string) {
      const found = await visible(id, user);
      const hold = found.holds.find((h) => h.holdId === holdId);
      if (!hold) throw notFound(`Hold ${holdId} of stop-payment ${id}`);
      await accessLog(user, 'stop_payment_read', { workflowId: hold.workflowId });
      const steps = await db
        .select({
          kind: caseEvents.kind,
          at: caseEvents.at,
          userId: caseEvents.actorUserId,
          name: users.name,
          role: caseEvents.actorRole,
          detail: caseEvents.detail,
        })
        .from(caseEvents)
        .leftJoin(users, eq(users.userId, caseEvents.actorUserId))
        .where(and(eq(caseEvents.workflowId, hold.workflowId), isNotNull(caseEvents.actorUserId)))
        .orderBy(asc(caseEvents.seq));
      return {
        hold,
        decisions: steps.map((step) => ({ ...step, at: step.at.toISOString(), name: step.name ?? step.userId })),
      };
    },

    /** One case as `user` may see it, masked for them. */
    async detail(user: User, id: string): Promise<StopPaymentView> {
      return shownTo(user, await visible(id, user));
    },

    /** Never by the filer: the workflow refuses it (four-eyes), whatever the entry point. */
    approve: (user: User, id: string, input: { note?: string }, idempotencyKey: string | null) =>
      decideCase(
        id,
        user,
        approveUpdate,
        { actor: actorFor(user, MAY.approveStopPayments), note: input.note },
        idempotencyKey,
      ),

    reject: (user: User, id: string, input: { reason: string }, idempotencyKey: string | null) =>
      decideCase(
        id,
        user,
        rejectUpdate,
        { actor: actorFor(user, MAY.approveStopPayments), reason: requiredText(input.reason, '/reason', 500) },
        idempotencyKey,
      ),

    release: (user: User, id: string, input: { reason: string; holdIds?: string[] }, idempotencyKey: string | null) =>
      decideCase(
        id,
        user,
        releaseCaseUpdate,
        { actor: actorFor(user, MAY.freezeStopPayments), reason: input.reason, holdIds: input.holdIds },
        idempotencyKey,
      ),

    restop: (user: User, id: string, holdId: string, input: { note?: string }, idempotencyKey: string | null) =>
      decideHold(
        id,
        holdId,
        user,
        restopUpdate,
        { actor: actorFor(user, MAY.approveStopPayments), note: input.note },
        idempotencyKey,
      ),

    freeze: freezeOrder(freezeUpdate),
    renew: freezeOrder(renewUpdate),
  };
}

export type StopPaymentService = ReturnType<typeof createStopPaymentService>;
