/**
 * A Temporal history, turned into the story a person reads: who decided what and when, what the
 * workflow did on its own (timers, escalations, notifications), what the banks were told and
 * answered, which child workflows started and how runs continued as new. Pure: it reads the proto3
 * JSON form of histories (what `temporal workflow show --output json` prints, and what the archive
 * stores), so the same code explains a history from Temporal and one from the archive.
 *
 * Entries come in history order. `eventId` is the history event an entry comes from (one activity
 * that projects several steps gives one entry per step, all with that event's ID); across a
 * continue-as-new chain every entry also names its `runId`.
 */
import { maskPhone } from '#domain/alert.js';
import type { AlertStepKind, HoldStepKind, StopPaymentStepKind } from '#domain/steps.js';
import { PROJECTION_ACTIVITIES } from '#read-model/workflow-view.js';
import {
  approveUpdate,
  callResultUpdate,
  cancelAlertUpdate,
  claimUpdate,
  freezeUpdate,
  holdChangedSignal,
  linkStopPaymentSignal,
  onwardFoundSignal,
  platformUpdateSignal,
  rejectUpdate,
  releaseCaseUpdate,
  releaseHoldSignal,
  forceReleaseUpdate,
  releaseUpdate,
  renewUpdate,
  restopUpdate,
  transferUpdate,
  visitResultUpdate,
  type AlertUpdateName,
  type HoldUpdateName,
  type SignalName,
  type StopPaymentUpdateName,
} from '#workflows/messages.js';

export interface TimelineActor {
  userId: string;
  name?: string;
  role: string;
}

export interface TimelineEntry {
  eventId: number;
  runId: string;
  at: string;
  kind: string;
  actor?: TimelineActor;
  summary: string;
  /** The facts behind the summary, for tools. */
  detail?: Record<string, unknown>;
}

// Proto3 JSON of a history is read loosely, field by field; every value is checked before it is used.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;
export interface JsonHistory {
  events: Json[];
}

export interface RunInput {
  runId: string;
  history: JsonHistory;
}

// --- payloads ----------------------------------------------------------------------------------

const fromBase64 = (value: unknown) => (typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.alloc(0));

/** The value of a payload written by the default data converter; `undefined` when it cannot be read. */
export function decodePayload(payload: Json | undefined): unknown {
  if (!payload) return undefined;
  const encoding = fromBase64(payload.metadata?.encoding).toString('utf8');
  if (encoding === 'binary/null') return null;
  if (encoding === 'json/plain' || encoding === 'json/protobuf') {
    try {
      return JSON.parse(fromBase64(payload.data).toString('utf8'));
    } catch {
      return undefined;
    }
  }
  if (encoding === 'binary/plain') return `<${fromBase64(payload.data).length} bytes>`;
  return undefined;
}

const firstPayload = (payloads: Json | undefined): unknown => decodePayload(payloads?.payloads?.[0]);

// --- wording -----------------------------------------------------------------------------------

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** `record[key]` only for the record's own keys: names in a history are data, never `constructor`. */
const own = <T>(record: Record<string, T> | undefined, key: string): T | undefined =>
  record && Object.hasOwn(record, key) ? record[key] : undefined;
const cny = (fen: unknown) => (typeof fen === 'number' ? `${(fen / 100).toFixed(2)} CNY` : '? CNY');
const quoted = (text: unknown) => (typeof text === 'string' && text.trim() ? ` — “${text}”` : '');
const who = (actor: TimelineActor | undefined) =>
  actor ? `${actor.name ?? actor.userId} (${actor.role})` : 'the system';
const toActor = (value: unknown): TimelineActor | undefined =>
  isObject(value) && typeof value.userId === 'string' && typeof value.role === 'string'
    ? { userId: value.userId, ...(typeof value.name === 'string' ? { name: value.name } : {}), role: value.role }
    : undefined;
const eventTime = (event: Json) => {
  const parsed = Date.parse(event.eventTime);
  return Number.isNaN(parsed) ? String(event.eventTime ?? '') : new Date(parsed).toISOString();
};
const eventTypeOf = (event: Json) => String(event.eventType ?? '').replace(/^EVENT_TYPE_/, '');
const attributesOf = (event: Json): Json => {
  const key = Object.keys(event).find((k) => k.endsWith('EventAttributes'));
  return key ? (event[key] as Json) : {};
};
/** Proto3 JSON durations are strings like "2.289s". */
const seconds = (duration: unknown) => (typeof duration === 'string' ? Number.parseFloat(duration) : Number.NaN);
const humanDuration = (duration: unknown) => {
  const s = seconds(duration);
  if (Number.isNaN(s)) return String(duration);
  if (s >= 86_400) return `${+(s / 86_400).toFixed(2)}d`;
  if (s >= 3600) return `${+(s / 3600).toFixed(2)}h`;
  if (s >= 60) return `${+(s / 60).toFixed(2)}m`;
  return `${+s.toFixed(3)}s`;
};
const account = (bank: unknown, acct: unknown) => `${String(bank ?? '?')} ${String(acct ?? '?')}`;
const holdState = (hold: Json) => {
  const parts = [`${hold.holdId ?? '?'} (${account(hold.bank, hold.account)}) is ${hold.state}`];
  if (hold.stoppedFen) parts.push(`${cny(hold.stoppedFen)} stopped`);
  if (hold.frozenFen) parts.push(`${cny(hold.frozenFen)} frozen`);
  if (hold.expiresAt) parts.push(`until ${hold.expiresAt}`);
  if (hold.failure) parts.push(`failure: ${hold.failure}`);
  return parts.join(', ');
};
const viewState = (view: unknown): string | null => {
  if (!isObject(view)) return null;
  if (typeof view.holdId === 'string' && typeof view.state === 'string') return `hold ${holdState(view)}`;
  if (typeof view.alertId === 'string') return `alert ${view.state}${view.outcome ? ` (${view.outcome})` : ''}`;
  if (typeof view.stopPaymentId === 'string')
    return `stop-payment ${view.state}: ${cny(view.stoppedFen)} stopped, ${cny(view.frozenFen)} frozen of ${cny(view.requestedFen)} requested`;
  return null;
};

function describeStart(
  workflowType: string,
  input: unknown,
  attributes: Json,
): { summary: string; actor?: TimelineActor } {
  const continued = typeof attributes.continuedExecutionRunId === 'string' && attributes.continuedExecutionRunId;
  const i = isObject(input) ? input : {};
  if (workflowType === 'AlertWorkflow' && isObject(i.alert)) {
    const a = i.alert;
    const victim = isObject(a.victim)
      ? `${a.victim.name ?? ''} ${typeof a.victim.phone === 'string' ? maskPhone(a.victim.phone) : ''}`.trim()
      : '?';
    return {
      summary: `Alert ${a.alertId} received from ${a.source}: ${a.riskLevel} risk, ${a.fraudType} fraud, victim ${victim}, station ${a.stationId}, issued ${a.issuedAt}`,
    };
  }
  if (workflowType === 'StopPaymentWorkflow' && isObject(i.filing)) {
    const transfers: Json[] = Array.isArray(i.filing.transfers) ? i.filing.transfers : [];
    const total = transfers.reduce((sum, t) => sum + (typeof t.amountFen === 'number' ? t.amountFen : 0), 0);
    const actor = toActor(i.createdBy);
    return {
      actor,
      summary: `Stop-payment ${i.stopPaymentId} filed by ${who(actor)}: ${transfers.length} transfer(s) totalling ${cny(total)} to ${transfers
        .map((t) => account(t.bank, t.account))
        .join(
          ', ',
        )}; reported ${i.filing.reportedAt}${i.filing.caseRef ? `, case ${i.filing.caseRef}` : ''}${i.filing.alertId ? `, alert ${i.filing.alertId}` : ''}`,
    };
  }
  if (workflowType === 'HoldWorkflow' && isObject(i.hold)) {
    const h = i.hold;
    if (continued)
      return {
        summary: `Hold ${h.holdId} continues as a new run after ${attributes.initiator === 'CONTINUE_AS_NEW_INITIATOR_WORKFLOW' ? 'its renewal' : 'continue-as-new'} (previous run ${continued}): ${holdState(h)}`,
      };
    return {
      summary: `Hold ${h.holdId} started for stop-payment ${i.stopPaymentId}: ${account(h.bank, h.account)}, ${cny(h.requestedFen)} requested, level ${h.level}${h.parentHoldId ? ` (onward from ${h.parentHoldId})` : ''}`,
    };
  }
  return { summary: `${workflowType} started${continued ? ` (continued from run ${continued})` : ''}` };
}

/** What a person did, after their name: one wording per decision each workflow type takes. */
type DecisionWords = (decision: Json) => string;

const ALERT_DECISIONS: Record<AlertUpdateName, DecisionWords> = {
  [claimUpdate.name]: () => 'claimed the alert to call',
  [releaseUpdate.name]: (d) => `gave the alert back to the queue${quoted(d.note)}`,
  [forceReleaseUpdate.name]: (d) => `took the alert back from its operator to the queue${quoted(d.reason)}`,
  [callResultUpdate.name]: (d) =>
    d.result === 'contacted'
      ? `reported the call: contacted, outcome ${d.outcome}${d.amountAtRiskFen !== undefined ? `, ${cny(d.amountAtRiskFen)} at risk` : ''}${quoted(d.note)}`
      : `reported the call: not reached${d.reason ? ` (${d.reason})` : ''}${quoted(d.note)}`,
  [visitResultUpdate.name]: (d) => `reported the visit: outcome ${d.outcome}${quoted(d.note)}`,
  [transferUpdate.name]: (d) => `transferred the visit to station ${d.stationId}${quoted(d.reason)}`,
  [cancelAlertUpdate.name]: (d) => `cancelled the alert${quoted(d.reason)}`,
};

const STOP_PAYMENT_DECISIONS: Record<StopPaymentUpdateName, DecisionWords> = {
  [approveUpdate.name]: (d) => `approved the stop-payment${quoted(d.note)}`,
  [rejectUpdate.name]: (d) => `rejected the stop-payment${quoted(d.reason)}`,
  [releaseCaseUpdate.name]: (d) =>
    `ordered the release of ${Array.isArray(d.holdIds) ? `holds ${d.holdIds.join(', ')}` : 'every held account'}${quoted(d.reason)}`,
};

const HOLD_DECISIONS: Record<HoldUpdateName, DecisionWords> = {
  [restopUpdate.name]: (d) => `ordered a re-stop${quoted(d.note)}`,
  [freezeUpdate.name]: (d) => `ordered a freeze under legal document ${d.legalDocRef}${quoted(d.note)}`,
  [renewUpdate.name]: (d) => `renewed the freeze under legal document ${d.legalDocRef}${quoted(d.note)}`,
};

const DECISIONS: Record<string, Record<string, DecisionWords>> = {
  AlertWorkflow: ALERT_DECISIONS,
  StopPaymentWorkflow: STOP_PAYMENT_DECISIONS,
  HoldWorkflow: HOLD_DECISIONS,
};

function describeUpdate(workflowType: string, name: string, decision: Json): string {
  return own(DECISIONS[workflowType], name)?.(decision) ?? `sent the decision “${name}”`;
}

/** What a signal told a workflow (from the platform, a parent case, or a hold). */
const SIGNAL_WORDS: Record<SignalName, (v: Json) => { summary: string; actor?: TimelineActor }> = {
  [platformUpdateSignal.name]: (v) => ({
    summary: `The platform pushed the alert again: risk ${v.riskLevel}${quoted(v.note)}`,
  }),
  [linkStopPaymentSignal.name]: (v) => ({ summary: `Linked to stop-payment ${v.stopPaymentId}` }),
  [holdChangedSignal.name]: (v) => ({ summary: `Hold ${holdState(v)}` }),
  [onwardFoundSignal.name]: (v) => {
    const transfers: Json[] = Array.isArray(v.transfers) ? v.transfers : [];
    return {
      summary: `Money moved on from hold ${v.parentHoldId}: ${transfers.length} onward account(s) at level ${v.level}: ${transfers
        .map((t) => `${account(t.bank, t.account)} ${cny(t.amountFen)}`)
        .join('; ')}`,
    };
  },
  [releaseHoldSignal.name]: (v) => {
    const actor = toActor(v.actor);
    return { actor, summary: `${who(actor)} ordered this hold released${quoted(v.reason)}` };
  },
};

function describeSignal(name: string, value: unknown): { summary: string; actor?: TimelineActor } {
  return (
    own<(v: Json) => { summary: string; actor?: TimelineActor }>(
      SIGNAL_WORDS,
      name,
    )?.(isObject(value) ? value : {}) ?? { summary: `Signal “${name}”` }
  );
}

/** A step the workflow recorded (and projected into the read model), in words: its detail, and whom it notified. */
type StepWords = (d: Json, notified: Json[]) => string;

const tell = (notified: Json[]) =>
  notified.length > 0 ? `; notified ${notified.map((n) => n.recipientRole).join(', ')}` : '';
const deadlineMissed: StepWords = (d) =>
  `Deadline missed: the ${d.deadline} deadline (${d.dueAt}) passed, escalation level ${d.level}, ${String(d.notified ?? '').replace('_', ' ')} notified`;
const closed: StepWords = (d) =>
  d.outcome
    ? `Closed: ${d.outcome}${d.reason ? ` (${d.reason})` : ''}`
    : `Closed: ${cny(d.stoppedFen)} stopped, ${cny(d.frozenFen)} frozen of ${cny(d.requestedFen)} requested`;
const holdEnded =
  (kind: string): StepWords =>
  (d) =>
    `Hold ${kind}: ${cny(d.stoppedFen)} held${d.expiresAt ? ` until ${d.expiresAt}` : ''}`;
const holdRanOut =
  (what: string): StepWords =>
  (d, notified) =>
    `The ${what} at ${d.expiredAt}${tell(notified)}`;

const ALERT_STEPS: Record<AlertStepKind, StepWords> = {
  received: (d) => `Alert received (${d.riskLevel} risk, from ${d.source})`,
  claimed: (d) => `Call attempt ${d.attempt} started`,
  released: (d) => `Back in the queue${quoted(d.note)}`,
  call_result: (d) =>
    d.result === 'contacted'
      ? `Call result recorded: contacted, ${d.outcome}`
      : `Call result recorded: not reached (attempt ${d.attempt})`,
  retry_scheduled: (d) => `Retry scheduled for ${d.at} (${d.attemptsLeft} attempt(s) left)`,
  requeued: (d) => `Back in the queue for call attempt ${d.attempt}; claim deadline ${d.deadline}`,
  visit_requested: (d) => `Visit requested from station ${d.stationId} (${d.reason}); deadline ${d.deadline}`,
  visit_result: (d) => `Visit result recorded: ${d.outcome} (station ${d.stationId})`,
  transferred: (d) => `Visit moved from station ${d.from} to ${d.to}; deadline ${d.deadline}`,
  deadline_missed: deadlineMissed,
  platform_update: (d) =>
    `Platform update recorded: risk ${d.riskLevel}${d.raisedFrom ? ` (raised from ${d.raisedFrom})` : ' (unchanged)'}`,
  stop_payment_linked: (d) => `Linked to stop-payment ${d.stopPaymentId}`,
  closed,
};

const STOP_PAYMENT_STEPS: Record<StopPaymentStepKind, StepWords> = {
  filed: (d) => `Filed: ${d.transfers} transfer(s), ${cny(d.requestedFen)} requested, reported ${d.reportedAt}`,
  major_case: (d) =>
    `Major case: ${cny(d.requestedFen)} reaches the threshold of ${cny(d.thresholdFen)}; ${String(d.notified ?? '').replace('_', ' ')} notified`,
  deadline_missed: deadlineMissed,
  approved: (d) => `Approved${quoted(d.note)}`,
  holds_started: (d) => `Holds started: ${Array.isArray(d.holds) ? d.holds.join(', ') : ''}`,
  rejected: (d) => `Rejected${quoted(d.reason)}`,
  release_ordered: (d) =>
    `Release ordered for ${Array.isArray(d.holds) ? d.holds.join(', ') || 'no hold' : '?'}${quoted(d.reason)}`,
  hold_changed: (d) => `Hold ${holdState(d)}`,
  onward_found: (d) =>
    `Onward account found: hold ${d.holdId} at ${account(d.bank, d.account)} for ${cny(d.amountFen)} (level ${d.level}, from ${d.parentHoldId})`,
  holds_limited: (d) =>
    `${d.notHeld} onward account(s) through ${d.parentHoldId} not held: the policy allows ${d.maxHoldsPerCase} holds per case and ${d.maxOnwardAccountsPerHold} onward accounts per bank answer; the supervisor was told`,
  closed,
};

const HOLD_STEPS: Record<HoldStepKind, StepWords> = {
  stop_requested: (d) => `Stop-payment requested at ${account(d.bank, d.account)} for ${cny(d.requestedFen)}`,
  bank_answered: (d) =>
    `The bank answered the ${d.instruction}: ${d.status}, ${cny(d.stoppedFen)} held, ${d.onward} onward transfer(s)`,
  bank_refused: (d) => `The bank refused the ${d.instruction}: ${d.reason}`,
  stopped: holdEnded('stopped'),
  empty: holdEnded('empty'),
  failed: holdEnded('failed'),
  restopped: (d) => `Re-stopped (${d.restops} of the allowed re-stops used) until ${d.expiresAt}${quoted(d.note)}`,
  freeze_requested: (d) => `Freeze requested under ${d.legalDocRef}${quoted(d.note)}`,
  frozen: (d) => `Frozen: ${cny(d.frozenFen)} until ${d.expiresAt} under ${d.legalDocRef}`,
  renewed: (d) => `Freeze renewed (renewal ${d.renewals}) until ${d.expiresAt} under ${d.legalDocRef}`,
  expiry_reminder: (d, notified) => `Reminder: the ${d.what} expires at ${d.expiresAt}${tell(notified)}`,
  lapsed: holdRanOut('stop lapsed'),
  expired: holdRanOut('freeze expired'),
  released: (d) => `Released at the bank${quoted(d.reason)}`,
};

const STEPS: Record<string, Record<string, StepWords>> = {
  AlertWorkflow: ALERT_STEPS,
  StopPaymentWorkflow: STOP_PAYMENT_STEPS,
  HoldWorkflow: HOLD_STEPS,
};

/** Whether `kind` has words of its own for this workflow type (the rest read as their facts). */
export const isWordedStep = (workflowType: string, kind: string) => own(STEPS[workflowType], kind) !== undefined;

function describeStep(workflowType: string, step: Json, notified: Json[]): string {
  const d: Json = isObject(step.detail) ? step.detail : {};
  const words = own(STEPS[workflowType], String(step.kind));
  if (words) return words(d, notified);
  // A kind this code no longer records (an old history): its facts, plainly.
  const facts = Object.entries(d)
    .filter(([, value]) => value !== null && value !== undefined && typeof value !== 'object')
    .map(([key, value]) => `${key} ${value}`);
  return `${String(step.kind).replace(/_/g, ' ')}${facts.length ? `: ${facts.join(', ')}` : ''}`;
}

/** A few plain facts of an activity's input or result, for activities without words of their own. */
function facts(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return `: ${value}`;
  if (Array.isArray(value)) return `: ${value.length} item(s)`;
  if (!isObject(value)) return '';
  const plain = Object.entries(value).filter(
    ([, v]) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean',
  );
  return plain.length
    ? ` (${plain
        .slice(0, 4)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`
    : '';
}

const BANK_ACTIVITIES: Record<string, string> = {
  stopAtBank: 'stop-payment',
  freezeAtBank: 'freeze',
  renewAtBank: 'renewal',
  releaseAtBank: 'release',
};
const CLOSE_KINDS: Record<string, string> = {
  WORKFLOW_EXECUTION_COMPLETED: 'workflow_completed',
  WORKFLOW_EXECUTION_FAILED: 'workflow_failed',
  WORKFLOW_EXECUTION_TIMED_OUT: 'workflow_timed_out',
  WORKFLOW_EXECUTION_CANCELED: 'workflow_cancelled',
  WORKFLOW_EXECUTION_TERMINATED: 'workflow_terminated',
  WORKFLOW_EXECUTION_CONTINUED_AS_NEW: 'workflow_continued_as_new',
};

export const workflowTypeOf = (history: JsonHistory): string =>
  String(history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? 'unknown');

/** The run this one continued from (continue-as-new), when it did. */
export const previousRunOf = (history: JsonHistory): string | null => {
  const previous = history.events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
  return typeof previous === 'string' && previous ? previous : null;
};

/** `names` maps user IDs to names seen so far (steps carry only userId and role). */
export function runTimeline(workflowType: string, run: RunInput, names = new Map<string, string>()): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  const named = (actor: TimelineActor | undefined) => {
    if (!actor) return undefined;
    if (actor.name) names.set(actor.userId, actor.name);
    else if (names.has(actor.userId)) return { ...actor, name: names.get(actor.userId)! };
    return actor;
  };
  const scheduled = new Map<string, { name: string; input: Json | null }>();
  const updates = new Map<string, { name: string; actor?: TimelineActor }>();
  const children = new Map<string, string>();
  const push = (event: Json, kind: string, summary: string, who?: TimelineActor, detail?: Record<string, unknown>) => {
    const actor = named(who);
    out.push({
      eventId: Number(event.eventId),
      runId: run.runId,
      at: eventTime(event),
      kind,
      ...(actor ? { actor } : {}),
      summary,
      ...(detail ? { detail } : {}),
    });
  };

  for (const event of run.history.events) {
    const type = eventTypeOf(event);
    const a = attributesOf(event);
    switch (type) {
      case 'WORKFLOW_EXECUTION_STARTED': {
        const input = firstPayload(a.input);
        const { summary, actor } = describeStart(workflowType, input, a);
        push(event, 'workflow_started', summary, actor, {
          workflowType,
          continuedFrom: a.continuedExecutionRunId || null,
          parent: a.parentWorkflowExecution?.workflowId ?? null,
        });
        break;
      }
      case 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED': {
        const name = String(a.acceptedRequest?.input?.name ?? '?');
        const decision = firstPayload(a.acceptedRequest?.input?.args);
        const d: Json = isObject(decision) ? decision : {};
        const actor = toActor(d.actor);
        const updateId = String(a.acceptedRequest?.meta?.updateId ?? '');
        updates.set(updateId, { name, actor });
        const { actor: _actor, ...facts } = d;
        push(event, 'update_accepted', `${who(actor)} ${describeUpdate(workflowType, name, d)}`, actor, {
          update: name,
          updateId,
          ...facts,
        });
        break;
      }
      case 'WORKFLOW_EXECUTION_UPDATE_COMPLETED': {
        const updateId = String(a.meta?.updateId ?? '');
        const accepted = updates.get(updateId);
        const name = accepted?.name ?? '?';
        if (a.outcome?.failure) {
          push(
            event,
            'update_completed',
            `The “${name}” decision failed: ${a.outcome.failure.message ?? 'unknown error'}`,
            accepted?.actor,
            { update: name, updateId, failed: true },
          );
        } else {
          const state = viewState(firstPayload(a.outcome?.success));
          push(
            event,
            'update_completed',
            `The “${name}” decision took effect${state ? `: ${state}` : ''}`,
            accepted?.actor,
            { update: name, updateId },
          );
        }
        break;
      }
      case 'WORKFLOW_EXECUTION_SIGNALED': {
        const name = String(a.signalName ?? '?');
        const value = firstPayload(a.input);
        const { summary, actor } = describeSignal(name, value);
        const from = a.externalWorkflowExecution?.workflowId;
        push(event, 'signal_received', `${summary}${from ? ` (from ${from})` : ''}`, actor, {
          signal: name,
          from: from ?? null,
        });
        break;
      }
      case 'SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED': {
        const name = String(a.signalName ?? '?');
        const target = a.workflowExecution?.workflowId ?? '?';
        const { summary, actor } = describeSignal(name, firstPayload(a.input));
        push(event, 'signal_sent', `Told ${target}: ${summary}`, actor, { signal: name, to: target });
        break;
      }
      case 'SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED':
        push(
          event,
          'signal_failed',
          `Could not signal ${a.workflowExecution?.workflowId ?? '?'} (${String(a.cause ?? '')
            .replace(/^SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_/, '')
            .toLowerCase()})`,
        );
        break;
      case 'TIMER_STARTED': {
        const due = new Date(Date.parse(event.eventTime) + seconds(a.startToFireTimeout) * 1000);
        push(
          event,
          'timer_started',
          `Timer ${a.timerId} set for ${humanDuration(a.startToFireTimeout)}${Number.isNaN(due.getTime()) ? '' : ` (fires at ${due.toISOString()})`}`,
          undefined,
          {
            timerId: a.timerId,
            duration: a.startToFireTimeout,
          },
        );
        break;
      }
      case 'TIMER_FIRED':
        push(event, 'timer_fired', `Timer ${a.timerId} fired`, undefined, { timerId: a.timerId });
        break;
      case 'ACTIVITY_TASK_SCHEDULED': {
        const name = String(a.activityType?.name ?? '?');
        const input = firstPayload(a.input);
        scheduled.set(String(event.eventId), { name, input: isObject(input) ? input : null });
        if (PROJECTION_ACTIVITIES.has(name) && isObject(input)) {
          const notifications: Json[] = Array.isArray(input.notifications) ? input.notifications : [];
          for (const { seq, event: step } of (Array.isArray(input.events) ? input.events : []) as Json[]) {
            if (!isObject(step)) continue;
            const notified = notifications.filter((n) => n.seq === seq);
            push(event, String(step.kind), describeStep(workflowType, step, notified), toActor(step.actor), {
              seq,
              recordedAt: step.at ?? null,
              ...(isObject(step.detail) ? step.detail : {}),
              notifications: notified.map((n) => ({ to: n.recipientRole, kind: n.kind, message: n.message })),
            });
          }
        } else if (BANK_ACTIVITIES[name] && isObject(input)) {
          push(
            event,
            'bank_instruction',
            `${BANK_ACTIVITIES[name]} instruction ${input.instructionId} sent to ${account(input.bank, input.account)}${input.amountFen !== undefined ? ` for ${cny(input.amountFen)}` : ''}${input.legalDocRef ? ` under ${input.legalDocRef}` : ''}`,
            undefined,
            {
              activity: name,
              ...input,
            },
          );
        } else if (!PROJECTION_ACTIVITIES.has(name)) {
          push(event, 'activity_scheduled', `Activity ${name} scheduled${facts(input)}`, undefined, { activity: name });
        }
        break;
      }
      case 'ACTIVITY_TASK_COMPLETED': {
        const activity = scheduled.get(String(a.scheduledEventId));
        if (!activity || PROJECTION_ACTIVITIES.has(activity.name)) break;
        const result = firstPayload(a.result);
        if (BANK_ACTIVITIES[activity.name]) {
          const r: Json = isObject(result) ? result : {};
          const held =
            r.stoppedFen !== undefined
              ? `, ${cny(r.stoppedFen)} held`
              : r.amountFen !== undefined
                ? `, ${cny(r.amountFen)}`
                : '';
          const onward = Array.isArray(r.onward)
            ? `, ${r.onward.length} onward transfer(s)${r.onward.length ? `: ${r.onward.map((o: Json) => `${account(o.bank, o.account)} ${cny(o.amountFen)}`).join('; ')}` : ''}`
            : '';
          push(
            event,
            'bank_answer',
            `${account(activity.input?.bank, activity.input?.account)} answered the ${BANK_ACTIVITIES[activity.name]} ${activity.input?.instructionId}: ${r.status}${held}${onward}`,
            undefined,
            {
              activity: activity.name,
              instructionId: activity.input?.instructionId,
              ...r,
            },
          );
        } else {
          push(event, 'activity_completed', `Activity ${activity.name} completed${facts(result)}`, undefined, {
            activity: activity.name,
          });
        }
        break;
      }
      case 'ACTIVITY_TASK_FAILED':
      case 'ACTIVITY_TASK_TIMED_OUT':
      case 'ACTIVITY_TASK_CANCELED': {
        const activity = scheduled.get(String(a.scheduledEventId));
        const why = a.failure?.cause?.message ?? a.failure?.message ?? type.toLowerCase();
        push(
          event,
          BANK_ACTIVITIES[activity?.name ?? ''] ? 'bank_failed' : 'activity_failed',
          `${activity?.name ?? 'Activity'} ${type === 'ACTIVITY_TASK_CANCELED' ? 'was cancelled' : `failed: ${why}`}`,
          undefined,
          {
            activity: activity?.name ?? null,
          },
        );
        break;
      }
      case 'START_CHILD_WORKFLOW_EXECUTION_INITIATED': {
        const childType = String(a.workflowType?.name ?? '?');
        const input = firstPayload(a.input);
        const hold = isObject(input) && isObject(input.hold) ? input.hold : null;
        children.set(String(a.workflowId), childType);
        push(
          event,
          'child_workflow_started',
          `Started ${childType} ${a.workflowId}${hold ? ` for ${account(hold.bank, hold.account)}, ${cny(hold.requestedFen)}, level ${hold.level}` : ''}`,
          undefined,
          {
            workflowId: a.workflowId,
            workflowType: childType,
          },
        );
        break;
      }
      case 'START_CHILD_WORKFLOW_EXECUTION_FAILED':
        push(
          event,
          'child_workflow_failed',
          `Could not start ${a.workflowType?.name ?? 'a child workflow'} ${a.workflowId} (${a.cause})`,
        );
        break;
      case 'CHILD_WORKFLOW_EXECUTION_COMPLETED': {
        const id = a.workflowExecution?.workflowId;
        const state = viewState(firstPayload(a.result));
        push(
          event,
          'child_workflow_completed',
          `${children.get(id) ?? 'Child workflow'} ${id} finished${state ? `: ${state}` : ''}`,
          undefined,
          { workflowId: id },
        );
        break;
      }
      case 'CHILD_WORKFLOW_EXECUTION_FAILED':
      case 'CHILD_WORKFLOW_EXECUTION_TIMED_OUT':
      case 'CHILD_WORKFLOW_EXECUTION_TERMINATED':
      case 'CHILD_WORKFLOW_EXECUTION_CANCELED': {
        const id = a.workflowExecution?.workflowId;
        push(
          event,
          'child_workflow_ended',
          `${children.get(id) ?? 'Child workflow'} ${id} ${type.replace('CHILD_WORKFLOW_EXECUTION_', '').toLowerCase().replace('_', ' ')}${a.failure?.message ? `: ${a.failure.message}` : ''}`,
          undefined,
          { workflowId: id },
        );
        break;
      }
      case 'WORKFLOW_TASK_FAILED': {
        // A new event arriving while the workflow completes a task is routine, not a fault.
        if (a.cause === 'WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND') break;
        push(
          event,
          'workflow_task_failed',
          `A workflow task failed (${String(a.cause ?? '')
            .replace('WORKFLOW_TASK_FAILED_CAUSE_', '')
            .toLowerCase()}): ${a.failure?.message ?? ''}`,
        );
        break;
      }
      case 'WORKFLOW_EXECUTION_COMPLETED': {
        const state = viewState(firstPayload(a.result));
        push(event, 'workflow_completed', `Workflow completed${state ? `: ${state}` : ''}`);
        break;
      }
      case 'WORKFLOW_EXECUTION_CONTINUED_AS_NEW': {
        const input = firstPayload(a.input);
        const hold = isObject(input) && isObject(input.hold) ? input.hold : null;
        push(
          event,
          'workflow_continued_as_new',
          `Continued as new run ${a.newExecutionRunId}${hold ? `: ${holdState(hold)}` : ''}`,
          undefined,
          { newRunId: a.newExecutionRunId },
        );
        break;
      }
      case 'WORKFLOW_EXECUTION_FAILED':
        push(event, 'workflow_failed', `Workflow failed: ${a.failure?.message ?? 'unknown error'}`);
        break;
      case 'WORKFLOW_EXECUTION_TERMINATED':
        push(
          event,
          'workflow_terminated',
          `Workflow terminated${a.identity ? ` by ${a.identity}` : ''}${quoted(a.reason)}`,
        );
        break;
      case 'WORKFLOW_EXECUTION_CANCELED':
        push(event, 'workflow_cancelled', 'Workflow cancelled');
        break;
      case 'WORKFLOW_EXECUTION_TIMED_OUT':
        push(event, 'workflow_timed_out', 'Workflow timed out');
        break;
      case 'WORKFLOW_EXECUTION_CANCEL_REQUESTED':
        push(
          event,
          'cancel_requested',
          `Cancellation requested${a.identity ? ` by ${a.identity}` : ''}${quoted(a.cause)}`,
        );
        break;
      default:
        break;
    }
  }
  return out;
}

/** Every run of a continue-as-new chain, oldest first, read as one story. */
export function chainTimeline(runs: RunInput[]): TimelineEntry[] {
  const names = new Map<string, string>();
  return runs.flatMap((run) => runTimeline(workflowTypeOf(run.history), run, names));
}

/** The status a closed history ends in, from its last event; RUNNING while it has none. */
export function closingStatusOf(history: JsonHistory): { status: string; closedAt: string | null } {
  const last = history.events[history.events.length - 1];
  const kind = last ? CLOSE_KINDS[eventTypeOf(last)] : undefined;
  if (!last || !kind) return { status: 'RUNNING', closedAt: null };
  const status = eventTypeOf(last).replace('WORKFLOW_EXECUTION_', '').replace('CANCELED', 'CANCELLED');
  return { status, closedAt: eventTime(last) };
}
