/**
 * Reconciliation of the read model with the workflows (`npm run reconcile`, and the check every
 * reliability test ends with). Temporal is the source of truth: for every alert, stop-payment case
 * and hold that Temporal knows (listed by workflow type through visibility) or that the read model
 * names, the workflow's own view (its result once it has completed, else the newest view it projected)
 * is turned into the row the projection would have written — with the same mapping functions — and
 * compared with the row that is there, and the case's timeline with its event rows.
 *
 * With `repair`, rows are upserted from the workflow's view and missing or wrong event rows are
 * rewritten. A repair never moves a row back: it writes under the same `seq` guard as the projection.
 */
import type { Client } from '@temporalio/client';
import { and, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Database } from '#db/client.js';
import { alerts, caseEvents, holds, stopPayments } from '#db/schema.js';
import { alertWorkflowId, type AlertView } from '#domain/alert.js';
import { holdWorkflowId, stopPaymentWorkflowId, type HoldView, type StopPaymentView } from '#domain/stop-payment.js';
import type { RecordedStep } from '#workflows/recorder.js';
import { latestWorkflowView } from './workflow-view.js';
import { alertRow } from './alerts.js';
import { holdRow, stopPaymentRow } from './stop-payments.js';

export type ReconciledKind = 'alert' | 'stop_payment' | 'hold';

export type DifferenceProblem =
  /** Temporal has the workflow, the read model has no row for it. */
  | 'missing_row'
  /** The row says something other than the workflow (see `fields`). */
  | 'stale_row'
  /** Event rows missing, extra, or of another kind than the workflow's timeline (see `fields`: seq numbers). */
  | 'events'
  /** A row whose workflow Temporal does not know (deleted by retention, or never started): reported, never repaired. */
  | 'orphan_row'
  /** The workflow exists but its state could not be read (it has projected nothing yet, or Temporal did not answer). */
  | 'unreadable';

export interface Difference {
  kind: ReconciledKind;
  id: string;
  workflowId: string;
  problem: DifferenceProblem;
  /** Columns that differ (stale_row) or event seq numbers that differ (events). */
  fields: string[];
  detail?: string;
  repaired: boolean;
}

export interface ReconcileReport {
  checked: { alerts: number; stopPayments: number; holds: number };
  /** What differed before any repair (only differences still there after `settleMs`). */
  differences: Difference[];
  repaired: number;
  /** No differences were found. */
  clean: boolean;
}

export interface ReconcileOptions {
  db: Database;
  client: Client;
  /** Upsert the read model from the workflows' state. Default false: report only. */
  repair?: boolean;
  /** Only workflows on this task queue (the configured one); all when absent. */
  taskQueue?: string;
  /**
   * A running workflow's newest steps may still be on their way to the read model. Differences of
   * running workflows are checked again after this long and reported only if they are still there.
   * Default 2000 ms; 0 checks once.
   */
  settleMs?: number;
  /** Workflows read at once. Default 8. */
  concurrency?: number;
}

/** A workflow's own state: its view, and the steps of its current run (a continued run's earlier steps were its predecessor's). */
type Truth<V> = { view: V; running: boolean; steps: RecordedStep[]; startSeq: number; seq: number };

interface Target {
  kind: ReconciledKind;
  id: string;
  workflowId: string;
}

const WORKFLOW_TYPES: Record<string, ReconciledKind> = {
  AlertWorkflow: 'alert',
  StopPaymentWorkflow: 'stop_payment',
  HoldWorkflow: 'hold',
};
const PREFIXES: [string, ReconciledKind][] = [
  ['alert-', 'alert'],
  ['stoppay-', 'stop_payment'],
  ['hold-', 'hold'],
];

/** Compared through JSON with sorted keys: jsonb does not keep key order, dates become ISO strings. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date))
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    return v;
  });
}

const normal = (value: unknown) => (value instanceof Date ? value.toISOString() : canonical(value));

/** Columns of `expected` whose value differs in `actual` (ignoring the bookkeeping columns); for `detail`, the paths inside it. */
function differingColumns(
  expected: Record<string, unknown>,
  actual: Record<string, unknown>,
  ignore: string[],
): string[] {
  return Object.keys(expected)
    .filter((key) => !ignore.includes(key) && normal(expected[key] ?? null) !== normal(actual[key] ?? null))
    .flatMap((key) =>
      key === 'detail' ? jsonPaths(JSON.parse(canonical(expected[key])), actual[key], 'detail').slice(0, 5) : [key],
    );
}

/** The values behind a differing `detail` path, for people: `workflow says X, row says Y`. */
function valueAt(root: unknown, path: string): unknown {
  return path
    .split('.')
    .slice(1)
    .reduce<unknown>(
      (node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined),
      root,
    );
}

/** Paths at which two JSON values differ (`detail.holds.0.state`). */
function jsonPaths(a: unknown, b: unknown, at: string): string[] {
  if (canonical(a) === canonical(b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    const found = keys.flatMap((k) =>
      jsonPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`),
    );
    return found.length ? found : [at];
  }
  return [at];
}

async function pool<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(size, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(runners);
}

/** The view of a workflow: its result once completed, else the newest view it projected (never a query: see domain/workflow-view.ts). */
async function readWorkflow<V>(client: Client, workflowId: string, withSteps: boolean): Promise<Truth<V> | null> {
  const latest = await latestWorkflowView<V>(client, workflowId, withSteps ? { stepsAfter: 0 } : {});
  if (!latest) return null;
  if (latest.view === null)
    throw new Error(`${workflowId} has not projected any state yet (just started, or no worker has run it)`);
  const { view, running, steps, startSeq } = latest;
  return { view, running, steps, startSeq, seq: steps.at(-1)?.seq ?? startSeq };
}

export async function reconcile(options: ReconcileOptions): Promise<ReconcileReport> {
  const { db, client } = options;
  const settleMs = options.settleMs ?? 2000;
  const concurrency = options.concurrency ?? 8;

  // --- what exists: Temporal's list of workflows, and the read model's rows -----------------------
  const targets = new Map<string, Target>();
  const add = (target: Target) => {
    if (!targets.has(target.workflowId)) targets.set(target.workflowId, target);
  };
  const types = Object.keys(WORKFLOW_TYPES)
    .map((t) => `'${t}'`)
    .join(', ');
  const query = `WorkflowType IN (${types})${options.taskQueue ? ` AND TaskQueue = '${options.taskQueue.replace(/'/g, "''")}'` : ''}`;
  for await (const execution of client.workflow.list({ query })) {
    const kind = WORKFLOW_TYPES[execution.type];
    const prefix = PREFIXES.find(([, k]) => k === kind)?.[0];
    if (!kind || !prefix || !execution.workflowId.startsWith(prefix)) continue;
    add({ kind, id: execution.workflowId.slice(prefix.length), workflowId: execution.workflowId });
  }
  const [alertRows, caseRows, holdRows] = await Promise.all([
    db.select({ alertId: alerts.alertId }).from(alerts),
    db.select({ stopPaymentId: stopPayments.stopPaymentId }).from(stopPayments),
    db.select({ holdId: holds.holdId }).from(holds),
  ]);
  for (const { alertId } of alertRows) add({ kind: 'alert', id: alertId, workflowId: alertWorkflowId(alertId) });
  for (const { stopPaymentId } of caseRows)
    add({ kind: 'stop_payment', id: stopPaymentId, workflowId: stopPaymentWorkflowId(stopPaymentId) });
  for (const { holdId } of holdRows) add({ kind: 'hold', id: holdId, workflowId: holdWorkflowId(holdId) });

  const all = [...targets.values()];
  const byKind = (kind: ReconciledKind) => all.filter((t) => t.kind === kind);

  // --- compare ----------------------------------------------------------------------------------
  /** Which case a hold belongs to, from the cases' own views (holdIds are `<case>-<n>` otherwise). */
  const holdCase = new Map<string, string>();
  /** Cases that name an alert: a closed alert is linked to them in the read model only. */
  const casesOfAlert = new Map<string, Set<string>>();
  const views = new Map<string, Truth<unknown>>();

  async function check(target: Target): Promise<{ difference: Difference | null; running: boolean }[]> {
    const found: { difference: Difference | null; running: boolean }[] = [];
    const differ = (problem: DifferenceProblem, fields: string[] = [], detail?: string) => ({
      ...target,
      problem,
      fields,
      detail,
      repaired: false,
    });
    let truth: Truth<unknown> | null;
    try {
      truth = await readWorkflow(client, target.workflowId, target.kind !== 'hold');
    } catch (error) {
      return [{ difference: differ('unreadable', [], (error as Error).message), running: true }];
    }
    if (truth) views.set(target.workflowId, truth);
    const running = truth?.running ?? false;

    if (target.kind === 'alert') {
      const [row] = await db.select().from(alerts).where(eq(alerts.alertId, target.id));
      if (!truth) return [{ difference: row ? differ('orphan_row') : null, running }];
      const view = linkedAlertView(truth.view as AlertView, row?.stopPaymentId ?? null);
      const fields = row ? differingColumns(alertRow(view, truth.seq), row, ['updatedAt']) : [];
      found.push({
        difference: !row
          ? differ('missing_row')
          : fields.length
            ? differ('stale_row', fields, explain(fields, view, row.detail))
            : null,
        running,
      });
      found.push({ difference: await compareEvents(target, truth, differ), running });
    } else if (target.kind === 'stop_payment') {
      const [row] = await db.select().from(stopPayments).where(eq(stopPayments.stopPaymentId, target.id));
      if (!truth) return [{ difference: row ? differ('orphan_row') : null, running }];
      const view = truth.view as StopPaymentView;
      const fields = row ? differingColumns(stopPaymentRow(view, truth.seq), row, ['updatedAt']) : [];
      found.push({
        difference: !row
          ? differ('missing_row')
          : fields.length
            ? differ('stale_row', fields, explain(fields, view, row.detail))
            : null,
        running,
      });
      found.push({ difference: await compareEvents(target, truth, differ), running });
    } else {
      const [row] = await db.select().from(holds).where(eq(holds.holdId, target.id));
      if (!truth) return [{ difference: row ? differ('orphan_row') : null, running }];
      if (!row) return [{ difference: differ('missing_row'), running }];
      // A hold's view carries no timeline, so its seq cannot be checked; every column else is.
      const fields = differingColumns(holdRow(truth.view as HoldView, caseOfHold(target.id), row.seq), row, [
        'updatedAt',
        'seq',
      ]);
      found.push({ difference: fields.length ? differ('stale_row', fields) : null, running });
    }
    return found;
  }

  function explain(fields: string[], view: unknown, detail: unknown): string | undefined {
    const paths = fields.filter((f) => f.startsWith('detail'));
    if (paths.length === 0) return undefined;
    const truth = JSON.parse(canonical(view)) as unknown;
    return paths
      .map((p) => `${p}: workflow ${JSON.stringify(valueAt(truth, p))}, row ${JSON.stringify(valueAt(detail, p))}`)
      .join('; ');
  }

  function caseOfHold(holdId: string): string {
    return holdCase.get(holdId) ?? holdId.replace(/-\d+$/, '');
  }

  /** An alert that was closed when a case named it is linked in the read model only (see linkAlertToStopPayment). */
  function linkedAlertView(view: AlertView, rowStopPaymentId: string | null): AlertView {
    if (view.state !== 'closed' || view.stopPaymentId !== null || rowStopPaymentId === null) return view;
    return casesOfAlert.get(view.alertId)?.has(rowStopPaymentId) ? { ...view, stopPaymentId: rowStopPaymentId } : view;
  }

  async function compareEvents(
    target: Target,
    truth: Truth<unknown>,
    differ: (p: DifferenceProblem, f?: string[]) => Difference,
  ): Promise<Difference | null> {
    const rows = await db
      .select({ seq: caseEvents.seq, kind: caseEvents.kind })
      .from(caseEvents)
      .where(eq(caseEvents.workflowId, target.workflowId));
    const have = new Map(rows.map((r) => [r.seq, r.kind]));
    const wrong: string[] = [];
    for (const { seq, event } of truth.steps) if (have.get(seq) !== event.kind) wrong.push(String(seq));
    // Steps of the runs before this one (continue-as-new) are no longer in Temporal's view of it.
    for (const seq of have.keys())
      if (seq < 1 || (seq > truth.startSeq && !truth.steps.some((s) => s.seq === seq))) wrong.push(String(seq));
    return wrong.length ? differ('events', wrong) : null;
  }

  // Cases first: they say which case each hold belongs to and which alerts they link.
  const differences = new Map<string, Difference[]>();
  const runningWithDifferences = new Set<string>();
  const runChecks = async (list: Target[]) => {
    await pool(list, concurrency, async (target) => {
      const results = await check(target);
      const found = results.map((r) => r.difference).filter((d): d is Difference => d !== null);
      if (found.length) differences.set(target.workflowId, found);
      else differences.delete(target.workflowId);
      if (found.length && results.some((r) => r.running)) runningWithDifferences.add(target.workflowId);
      else runningWithDifferences.delete(target.workflowId);
      if (target.kind === 'stop_payment') {
        const view = views.get(target.workflowId)?.view as StopPaymentView | undefined;
        if (view) {
          for (const hold of view.holds) {
            holdCase.set(hold.holdId, view.stopPaymentId);
            add({ kind: 'hold', id: hold.holdId, workflowId: hold.workflowId });
          }
          if (view.alertId)
            casesOfAlert.set(view.alertId, (casesOfAlert.get(view.alertId) ?? new Set()).add(view.stopPaymentId));
        }
      }
    });
  };
  await runChecks(byKind('stop_payment'));
  // Holds a case names but neither visibility nor the read model had yet.
  const holdTargets = [...targets.values()].filter((t) => t.kind === 'hold');
  await runChecks([...byKind('alert'), ...holdTargets]);

  if (settleMs > 0 && runningWithDifferences.size > 0) {
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    await runChecks([...runningWithDifferences].map((id) => targets.get(id)!));
  }

  const found = [...differences.values()].flat();

  // --- repair -----------------------------------------------------------------------------------
  let repaired = 0;
  if (options.repair) {
    for (const difference of found) {
      const truth = views.get(difference.workflowId);
      if (!truth || difference.problem === 'orphan_row' || difference.problem === 'unreadable') continue;
      if (difference.kind === 'alert') {
        const [row] = await db
          .select({ stopPaymentId: alerts.stopPaymentId })
          .from(alerts)
          .where(eq(alerts.alertId, difference.id));
        const view = linkedAlertView(truth.view as AlertView, row?.stopPaymentId ?? null);
        if (difference.problem === 'events') await rewriteEvents(db, difference, 'alert', truth);
        else await upsertAlert(db, view, truth.seq);
      } else if (difference.kind === 'stop_payment') {
        const view = truth.view as StopPaymentView;
        if (difference.problem === 'events') await rewriteEvents(db, difference, 'stop_payment', truth);
        else await upsertCase(db, view, truth.seq);
      } else {
        await upsertHold(db, truth.view as HoldView, caseOfHold(difference.id));
      }
      difference.repaired = true;
      repaired++;
    }
  }

  return {
    checked: {
      alerts: byKind('alert').length,
      stopPayments: byKind('stop_payment').length,
      holds: [...targets.values()].filter((t) => t.kind === 'hold').length,
    },
    differences: found,
    repaired,
    clean: found.length === 0,
  };
}

async function upsertAlert(db: Database, view: AlertView, seq: number) {
  const { alertId: _id, ...changes } = alertRow(view, seq);
  await db
    .insert(alerts)
    .values(alertRow(view, seq))
    .onConflictDoUpdate({ target: alerts.alertId, set: changes, setWhere: sql`${alerts.seq} <= ${seq}` });
}

async function upsertCase(db: Database, view: StopPaymentView, seq: number) {
  const { stopPaymentId: _id, ...changes } = stopPaymentRow(view, seq);
  await db
    .insert(stopPayments)
    .values(stopPaymentRow(view, seq))
    .onConflictDoUpdate({
      target: stopPayments.stopPaymentId,
      set: changes,
      setWhere: sql`${stopPayments.seq} <= ${seq}`,
    });
}

async function upsertHold(db: Database, view: HoldView, stopPaymentId: string) {
  // The hold's seq is not in its view: keep the row's, so the next projection still lands.
  const [existing] = await db.select({ seq: holds.seq }).from(holds).where(eq(holds.holdId, view.holdId));
  const seq = existing?.seq ?? 0;
  const { holdId: _id, ...changes } = holdRow(view, stopPaymentId, seq);
  await db
    .insert(holds)
    .values(holdRow(view, stopPaymentId, seq))
    .onConflictDoUpdate({ target: holds.holdId, set: changes, setWhere: sql`${holds.seq} <= ${seq}` });
}

/** The case's event rows of this run become exactly its steps: one row per step. */
async function rewriteEvents(
  db: Database,
  target: Difference,
  caseType: 'alert' | 'stop_payment',
  truth: Truth<unknown>,
) {
  const bySeq = new Map(truth.steps.map((step) => [step.seq, step.event]));
  await db.transaction(async (tx) => {
    await tx.delete(caseEvents).where(and(eq(caseEvents.workflowId, target.workflowId), gt(caseEvents.seq, truth.seq)));
    const wrong = target.fields.map(Number).filter((seq) => bySeq.has(seq));
    if (wrong.length === 0) return;
    await tx
      .delete(caseEvents)
      .where(and(eq(caseEvents.workflowId, target.workflowId), inArray(caseEvents.seq, wrong)));
    await tx.insert(caseEvents).values(
      wrong.map((seq) => {
        const event = bySeq.get(seq)!;
        return {
          workflowId: target.workflowId,
          seq,
          caseType,
          caseId: target.id,
          at: new Date(event.at),
          kind: event.kind,
          actorUserId: event.actor?.userId ?? null,
          actorRole: event.actor?.role ?? null,
          detail: event.detail,
        };
      }),
    );
  });
}

/** One line per difference, for people. */
export function formatReport(report: ReconcileReport): string {
  const lines = [
    `checked ${report.checked.alerts} alerts, ${report.checked.stopPayments} stop-payment cases, ${report.checked.holds} holds`,
    report.clean ? 'the read model matches every workflow' : `${report.differences.length} difference(s):`,
  ];
  for (const d of report.differences)
    lines.push(
      `  ${d.kind} ${d.id} (${d.workflowId}): ${d.problem}${d.fields.length ? ` [${d.fields.join(', ')}]` : ''}${d.detail ? ` — ${d.detail}` : ''}${d.repaired ? ' — repaired' : ''}`,
    );
  if (report.repaired) lines.push(`repaired ${report.repaired} difference(s)`);
  return lines.join('\n');
}
