/**
 * Alerts as the API sees them: starting workflows, sending decisions as Updates, reading state from
 * the workflow while it runs and from the read model after, and who may see which alert and phone.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type UpdateDefinition } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { FanzhaConfig } from '../../../config/index.js';
import type { Database } from '../../../db/client.js';
import { alerts } from '../../../db/schema.js';
import type { User } from '../../../db/users.js';
import { alertWorkflowId, maskPhone, type AlertInput, type AlertState, type AlertView, type DecisionActor, type RiskLevel } from '../../../domain/alert.js';
import type { AlertWorkflow } from '../../../workflows/alert.js';
import { claimUpdate, platformUpdateSignal } from '../../../workflows/messages.js';
import { currentView } from '../../current-view.js';
import { actorFor, sendDecision, updateIdFor } from '../../decisions.js';
import { notFound, Problem } from '../../problem.js';
import { decodeCursor, encodeCursor } from '../../schemas/common.js';

declare module 'fastify' {
  interface FastifyInstance {
    alerts: AlertService;
  }
}

type AlertUpdate<Args extends unknown[]> = UpdateDefinition<AlertView, Args>;

export interface AlertFilters {
  state?: AlertState;
  riskLevel?: RiskLevel;
  stationId?: string;
  overdue?: boolean;
  limit: number;
  cursor?: string;
}

type Cursor = [string, number, string, string];
const isCursor = (v: unknown): v is Cursor =>
  Array.isArray(v) && v.length === 4 && typeof v[0] === 'string' && typeof v[1] === 'number' && typeof v[2] === 'string' && typeof v[3] === 'string';

/** A station officer (who is not also a supervisor or other center role) sees only their station. */
const stationScope = (user: User): string | null =>
  user.roles.includes('station') && !user.roles.some((r) => r === 'supervisor' || r === 'operator' || r === 'auditor') ? user.stationId : null;

/** Phones are shown whole only to the assignee and to the officer of the alert's station. */
export function presentAlert<T extends Pick<AlertView, 'victim' | 'assignee' | 'stationId'>>(view: T, user: User): T {
  const mayShow =
    view.assignee?.userId === user.userId || (user.roles.includes('station') && user.stationId !== null && user.stationId === view.stationId);
  return mayShow ? view : { ...view, victim: { ...view.victim, phone: maskPhone(view.victim.phone) } };
}

export function createAlertService(deps: { db: Database; temporal: Client; config: FanzhaConfig }) {
  const { db, temporal, config } = deps;

  const handle = (alertId: string) => temporal.workflow.getHandle<typeof AlertWorkflow>(alertWorkflowId(alertId));

  /** The alert's authoritative view: the workflow's own newest view while it runs, the read model once closed. */
  async function view(alertId: string): Promise<AlertView | null> {
    const [row] = await db.select({ state: alerts.state, detail: alerts.detail }).from(alerts).where(eq(alerts.alertId, alertId));
    return currentView<AlertView>(temporal, alertWorkflowId(alertId), row && { closed: row.state === 'closed', detail: row.detail });
  }

  return {
    view,

    /**
     * `requestKey` (the user-scoped Idempotency-Key) is kept in the workflow's memo: a retry of the
     * request that started it (its first answer lost with a killed API process) is recognised and
     * answered as the first time, instead of being taken for a second push of the same alert.
     */
    async ingest(input: AlertInput, requestKey: string | null = null): Promise<{ created: boolean; state: AlertState }> {
      const workflowId = alertWorkflowId(input.alertId);
      const receivedAt = new Date().toISOString();
      const startedByThisRequest = async () =>
        requestKey !== null && (await handle(input.alertId).describe().catch(() => null))?.memo?.ingestRequest === requestKey;
      // A closed alert stays closed: its repeated push is a duplicate, never a new case.
      const [known] = await db.select({ state: alerts.state }).from(alerts).where(eq(alerts.alertId, input.alertId));
      if (known?.state === 'closed') return (await startedByThisRequest()) ? { created: true, state: 'queued' } : { created: false, state: 'closed' };
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
        await handle(input.alertId).signal(platformUpdateSignal, { riskLevel: input.riskLevel, receivedAt, note: input.note });
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
      const [row] = await db.select({ state: alerts.state }).from(alerts).where(eq(alerts.alertId, input.alertId));
      return { created: false, state: (row?.state as AlertState | undefined) ?? 'queued' };
    },

    async list(user: User, filters: AlertFilters) {
      const scope = stationScope(user);
      const conditions: (SQL | undefined)[] = [
        filters.state ? eq(alerts.state, filters.state) : undefined,
        filters.riskLevel ? eq(alerts.riskLevel, filters.riskLevel) : undefined,
        filters.stationId ? eq(alerts.stationId, filters.stationId) : undefined,
        filters.overdue !== undefined ? eq(alerts.overdue, filters.overdue) : undefined,
        scope !== null ? eq(alerts.stationId, scope) : undefined,
      ];
      // Most urgent first: earliest deadline (none last), then higher risk, then oldest.
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
        items: page.map((row) => {
          const { timeline: _timeline, suspect: _suspect, note: _note, ...summary } = row.detail as AlertView;
          return presentAlert(summary, user);
        }),
        nextCursor:
          rows.length > filters.limit && last
            ? encodeCursor([last.deadline ? last.deadline.toISOString() : 'infinity', last.riskRank, last.receivedAt.toISOString(), last.alertId])
            : null,
      };
    },

    /** 404 unless the user may see this alert (a station officer sees only their station's). */
    async visible(alertId: string, user: User): Promise<AlertView> {
      const found = await view(alertId);
      const scope = stationScope(user);
      if (!found || (scope !== null && found.stationId !== scope)) throw notFound(`Alert ${alertId}`);
      return found;
    },

    /** Sends a decision; the Idempotency-Key (per user) becomes the Update ID, so a retry has one effect. */
    async decide<Args extends [{ actor: DecisionActor }]>(
      alertId: string,
      user: User,
      update: AlertUpdate<Args>,
      decision: Args[0],
      idempotencyKey: string | null,
    ): Promise<AlertView> {
      if (stationScope(user) !== null) await this.visible(alertId, user);
      try {
        return await sendDecision(handle(alertId), update, [decision] as unknown as Args, updateIdFor(user, idempotencyKey), `Alert ${alertId} is closed; it takes no more decisions.`);
      } catch (error) {
        // An unknown alert is 404, not "closed".
        if (error instanceof Problem && error.code === 'invalid_transition' && !(await view(alertId))) throw notFound(`Alert ${alertId}`);
        throw error;
      }
    },

    /** Claims the most urgent queued alert for the caller, moving on when another operator wins the race. */
    async claimNext(user: User, idempotencyKey: string | null): Promise<AlertView | null> {
      const tried = new Set<string>();
      for (let round = 0; round < 5; round++) {
        const candidates = await db
          .select({ alertId: alerts.alertId })
          .from(alerts)
          .where(eq(alerts.state, 'queued'))
          .orderBy(asc(sql`coalesce(${alerts.deadline}, 'infinity'::timestamptz)`), asc(alerts.riskRank), asc(alerts.receivedAt))
          .limit(10 + tried.size);
        const fresh = candidates.filter((c) => !tried.has(c.alertId));
        if (fresh.length === 0) return null;
        for (const { alertId } of fresh) {
          tried.add(alertId);
          try {
            return await this.decide(alertId, user, claimUpdate, { actor: actorFor(user, ['operator']) }, idempotencyKey && `${idempotencyKey}:${alertId}`);
          } catch (error) {
            if (error instanceof Problem && error.status === 409) continue;
            throw error;
          }
        }
      }
      return null;
    },
  };
}

export type AlertService = ReturnType<typeof createAlertService>;

export default fp(
  async function alertService(app: FastifyInstance) {
    app.decorate('alerts', createAlertService({ db: app.db, temporal: app.temporal, config: app.config }));
  },
  { name: 'alerts' },
);
