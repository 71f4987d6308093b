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
import { PROJECTION_ACTIVITIES } from '#read-model/workflow-view.js';

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

const firstPayload = (payloads: Json | undefined): any => decodePayload(payloads?.payloads?.[0]);

// --- wording -----------------------------------------------------------------------------------

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const cny = (fen: unknown) => (typeof fen === 'number' ? `${(fen / 100).toFixed(2)} CNY` : '? CNY');
const quoted = (text: unknown) => (typeof text === 'string' && text.trim() ? ` — “${text}”` : '');
const who = (actor: TimelineActor | undefined) => (actor ? `${actor.name ?? actor.userId} (${actor.role})` : 'the system');
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

function describeStart(workflowType: string, input: unknown, attributes: Json): { summary: string; actor?: TimelineActor } {
  const continued = typeof attributes.continuedExecutionRunId === 'string' && attributes.continuedExecutionRunId;
  const i = isObject(input) ? input : {};
  if (workflowType === 'AlertWorkflow' && isObject(i.alert)) {
    const a = i.alert;
    const victim = isObject(a.victim) ? `${a.victim.name ?? ''} ${typeof a.victim.phone === 'string' ? maskPhone(a.victim.phone) : ''}`.trim() : '?';
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
        .join(', ')}; reported ${i.filing.reportedAt}${i.filing.caseRef ? `, case ${i.filing.caseRef}` : ''}${i.filing.alertId ? `, alert ${i.filing.alertId}` : ''}`,
    };
  }
  if (workflowType === 'HoldWorkflow' && isObject(i.hold)) {
    const h = i.hold;
    if (continued)
      return { summary: `Hold ${h.holdId} continues as a new run after ${attributes.initiator === 'CONTINUE_AS_NEW_INITIATOR_WORKFLOW' ? 'its renewal' : 'continue-as-new'} (previous run ${continued}): ${holdState(h)}` };
    return {
      summary: `Hold ${h.holdId} started for stop-payment ${i.stopPaymentId}: ${account(h.bank, h.account)}, ${cny(h.requestedFen)} requested, level ${h.level}${h.parentHoldId ? ` (onward from ${h.parentHoldId})` : ''}`,
    };
  }
  return { summary: `${workflowType} started${continued ? ` (continued from run ${continued})` : ''}` };
}

const UPDATE_WORDS: Record<string, (d: Json) => string> = {
  claim: () => 'claimed the alert to call',
  callResult: (d) =>
    d.result === 'contacted'
      ? `reported the call: contacted, outcome ${d.outcome}${d.amountAtRiskFen !== undefined ? `, ${cny(d.amountAtRiskFen)} at risk` : ''}${quoted(d.note)}`
      : `reported the call: not reached${d.reason ? ` (${d.reason})` : ''}${quoted(d.note)}`,
  visitResult: (d) => `reported the visit: outcome ${d.outcome}${quoted(d.note)}`,
  transfer: (d) => `transferred the visit to station ${d.stationId}${quoted(d.reason)}`,
  cancel: (d) => `cancelled the alert${quoted(d.reason)}`,
  approve: (d) => `approved the stop-payment${quoted(d.note)}`,
  reject: (d) => `rejected the stop-payment${quoted(d.reason)}`,
  restop: (d) => `ordered a re-stop${quoted(d.note)}`,
  freeze: (d) => `ordered a freeze under legal document ${d.legalDocRef}${quoted(d.note)}`,
  renew: (d) => `renewed the freeze under legal document ${d.legalDocRef}${quoted(d.note)}`,
};
function describeUpdate(workflowType: string, name: string, decision: Json): string {
  if (name === 'release')
    return workflowType === 'AlertWorkflow'
      ? `gave the alert back to the queue${quoted(decision.note)}`
      : `ordered the release of ${Array.isArray(decision.holdIds) ? `holds ${decision.holdIds.join(', ')}` : 'every held account'}${quoted(decision.reason)}`;
  return UPDATE_WORDS[name]?.(decision) ?? `sent the decision “${name}”`;
}

function describeSignal(name: string, value: unknown): { summary: string; actor?: TimelineActor } {
  const v = isObject(value) ? value : {};
  switch (name) {
    case 'platformUpdate':
      return { summary: `The platform pushed the alert again: risk ${v.riskLevel}${quoted(v.note)}` };
    case 'linkStopPayment':
      return { summary: `Linked to stop-payment ${v.stopPaymentId}` };
    case 'holdChanged':
      return { summary: `Hold ${holdState(v)}` };
    case 'onwardFound': {
      const transfers: Json[] = Array.isArray(v.transfers) ? v.transfers : [];
      return {
        summary: `Money moved on from hold ${v.parentHoldId}: ${transfers.length} onward account(s) at level ${v.level}: ${transfers
          .map((t) => `${account(t.bank, t.account)} ${cny(t.amountFen)}`)
          .join('; ')}`,
      };
    }
    case 'releaseHold': {
      const actor = toActor(v.actor);
      return { actor, summary: `${who(actor)} ordered this hold released${quoted(v.reason)}` };
    }
    default:
      return { summary: `Signal “${name}”` };
  }
}

/** A step the workflow recorded (and projected into the read model), in words. */
function describeStep(workflowType: string, step: Json, notified: Json[]): string {
  const d: Json = isObject(step.detail) ? step.detail : {};
  const tell = notified.length > 0 ? `; notified ${notified.map((n) => n.recipientRole).join(', ')}` : '';
  switch (step.kind) {
    case 'deadline_missed':
      return `Deadline missed: the ${d.deadline} deadline (${d.dueAt}) passed, escalation level ${d.level}, ${String(d.notified ?? '').replace('_', ' ')} notified`;
    case 'received':
      return `Alert received (${d.riskLevel} risk, from ${d.source})`;
    case 'claimed':
      return `Call attempt ${d.attempt} started`;
    case 'call_result':
      return d.result === 'contacted' ? `Call result recorded: contacted, ${d.outcome}` : `Call result recorded: not reached (attempt ${d.attempt})`;
    case 'retry_scheduled':
      return `Retry scheduled for ${d.at} (${d.attemptsLeft} attempt(s) left)`;
    case 'requeued':
      return `Back in the queue for call attempt ${d.attempt}; claim deadline ${d.deadline}`;
    case 'visit_requested':
      return `Visit requested from station ${d.stationId} (${d.reason}); deadline ${d.deadline}`;
    case 'closed':
      return d.outcome ? `Closed: ${d.outcome}${d.reason ? ` (${d.reason})` : ''}` : `Closed: ${cny(d.stoppedFen)} stopped, ${cny(d.frozenFen)} frozen of ${cny(d.requestedFen)} requested`;
    case 'major_case':
      return `Major case: ${cny(d.requestedFen)} reaches the threshold of ${cny(d.thresholdFen)}; ${String(d.notified ?? '').replace('_', ' ')} notified`;
    case 'holds_started':
      return `Holds started: ${Array.isArray(d.holds) ? d.holds.join(', ') : ''}`;
    case 'stop_requested':
      return `Stop-payment requested at ${account(d.bank, d.account)} for ${cny(d.requestedFen)}`;
    case 'bank_answered':
      return `The bank answered the ${d.instruction}: ${d.status}, ${cny(d.stoppedFen)} held, ${d.onward} onward transfer(s)`;
    case 'bank_refused':
      return `The bank refused the ${d.instruction}: ${d.reason}`;
    case 'platform_update':
      return `Platform update recorded: risk ${d.riskLevel}${d.raisedFrom ? ` (raised from ${d.raisedFrom})` : ' (unchanged)'}`;
    case 'released':
      return workflowType === 'AlertWorkflow' ? `Back in the queue${quoted(d.note)}` : `Released at the bank${quoted(d.reason)}`;
    case 'visit_result':
      return `Visit result recorded: ${d.outcome} (station ${d.stationId})`;
    case 'transferred':
      return `Visit moved from station ${d.from} to ${d.to}; deadline ${d.deadline}`;
    case 'stop_payment_linked':
      return `Linked to stop-payment ${d.stopPaymentId}`;
    case 'filed':
      return `Filed: ${d.transfers} transfer(s), ${cny(d.requestedFen)} requested, reported ${d.reportedAt}`;
    case 'approved':
      return `Approved${quoted(d.note)}`;
    case 'rejected':
      return `Rejected${quoted(d.reason)}`;
    case 'release_ordered':
      return `Release ordered for ${Array.isArray(d.holds) ? d.holds.join(', ') || 'no hold' : '?'}${quoted(d.reason)}`;
    case 'hold_changed':
      return `Hold ${holdState(d)}`;
    case 'onward_found':
      return `Onward account found: hold ${d.holdId} at ${account(d.bank, d.account)} for ${cny(d.amountFen)} (level ${d.level}, from ${d.parentHoldId})`;
    case 'stopped':
    case 'empty':
    case 'failed':
      return `Hold ${step.kind}: ${cny(d.stoppedFen)} held${d.expiresAt ? ` until ${d.expiresAt}` : ''}`;
    case 'restopped':
      return `Re-stopped (${d.restops} of the allowed re-stops used) until ${d.expiresAt}${quoted(d.note)}`;
    case 'freeze_requested':
      return `Freeze requested under ${d.legalDocRef}${quoted(d.note)}`;
    case 'frozen':
      return `Frozen: ${cny(d.frozenFen)} until ${d.expiresAt} under ${d.legalDocRef}`;
    case 'renewed':
      return `Freeze renewed (renewal ${d.renewals}) until ${d.expiresAt} under ${d.legalDocRef}`;
    case 'expiry_reminder':
      return `Reminder: the ${d.what} expires at ${d.expiresAt}${tell}`;
    case 'lapsed':
    case 'expired':
      return `The ${step.kind === 'lapsed' ? 'stop lapsed' : 'freeze expired'} at ${d.expiredAt}${tell}`;
    default: {
      const facts = Object.entries(d)
        .filter(([, value]) => value !== null && value !== undefined && typeof value !== 'object')
        .map(([key, value]) => `${key} ${value}`);
      return `${String(step.kind).replace(/_/g, ' ')}${facts.length ? `: ${facts.join(', ')}` : ''}`;
    }
  }
}

/** A few plain facts of an activity's input or result, for activities without words of their own. */
function facts(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return `: ${value}`;
  if (Array.isArray(value)) return `: ${value.length} item(s)`;
  if (!isObject(value)) return '';
  const plain = Object.entries(value).filter(([, v]) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean');
  return plain.length ? ` (${plain.slice(0, 4).map(([k, v]) => `${k} ${v}`).join(', ')})` : '';
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
  const scheduled = new Map<string, { name: string; input: any }>();
  const updates = new Map<string, { name: string; actor?: TimelineActor }>();
  const children = new Map<string, string>();
  const push = (event: Json, kind: string, summary: string, who?: TimelineActor, detail?: Record<string, unknown>) => {
    const actor = named(who);
    out.push({ eventId: Number(event.eventId), runId: run.runId, at: eventTime(event), kind, ...(actor ? { actor } : {}), summary, ...(detail ? { detail } : {}) });
  };

  for (const event of run.history.events) {
    const type = eventTypeOf(event);
    const a = attributesOf(event);
    switch (type) {
      case 'WORKFLOW_EXECUTION_STARTED': {
        const input = firstPayload(a.input);
        const { summary, actor } = describeStart(workflowType, input, a);
        push(event, 'workflow_started', summary, actor, { workflowType, continuedFrom: a.continuedExecutionRunId || null, parent: a.parentWorkflowExecution?.workflowId ?? null });
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
        push(event, 'update_accepted', `${who(actor)} ${describeUpdate(workflowType, name, d)}`, actor, { update: name, updateId, ...facts });
        break;
      }
      case 'WORKFLOW_EXECUTION_UPDATE_COMPLETED': {
        const updateId = String(a.meta?.updateId ?? '');
        const accepted = updates.get(updateId);
        const name = accepted?.name ?? '?';
        if (a.outcome?.failure) {
          push(event, 'update_completed', `The “${name}” decision failed: ${a.outcome.failure.message ?? 'unknown error'}`, accepted?.actor, { update: name, updateId, failed: true });
        } else {
          const state = viewState(firstPayload(a.outcome?.success));
          push(event, 'update_completed', `The “${name}” decision took effect${state ? `: ${state}` : ''}`, accepted?.actor, { update: name, updateId });
        }
        break;
      }
      case 'WORKFLOW_EXECUTION_SIGNALED': {
        const name = String(a.signalName ?? '?');
        const value = firstPayload(a.input);
        const { summary, actor } = describeSignal(name, value);
        const from = a.externalWorkflowExecution?.workflowId;
        push(event, 'signal_received', `${summary}${from ? ` (from ${from})` : ''}`, actor, { signal: name, from: from ?? null });
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
        push(event, 'signal_failed', `Could not signal ${a.workflowExecution?.workflowId ?? '?'} (${String(a.cause ?? '').replace(/^SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_/, '').toLowerCase()})`);
        break;
      case 'TIMER_STARTED': {
        const due = new Date(Date.parse(event.eventTime) + seconds(a.startToFireTimeout) * 1000);
        push(event, 'timer_started', `Timer ${a.timerId} set for ${humanDuration(a.startToFireTimeout)}${Number.isNaN(due.getTime()) ? '' : ` (fires at ${due.toISOString()})`}`, undefined, {
          timerId: a.timerId,
          duration: a.startToFireTimeout,
        });
        break;
      }
      case 'TIMER_FIRED':
        push(event, 'timer_fired', `Timer ${a.timerId} fired`, undefined, { timerId: a.timerId });
        break;
      case 'ACTIVITY_TASK_SCHEDULED': {
        const name = String(a.activityType?.name ?? '?');
        const input = firstPayload(a.input);
        scheduled.set(String(event.eventId), { name, input });
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
          push(event, 'bank_instruction', `${BANK_ACTIVITIES[name]} instruction ${input.instructionId} sent to ${account(input.bank, input.account)}${input.amountFen !== undefined ? ` for ${cny(input.amountFen)}` : ''}${input.legalDocRef ? ` under ${input.legalDocRef}` : ''}`, undefined, {
            activity: name,
            ...input,
          });
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
          const held = r.stoppedFen !== undefined ? `, ${cny(r.stoppedFen)} held` : r.amountFen !== undefined ? `, ${cny(r.amountFen)}` : '';
          const onward = Array.isArray(r.onward) ? `, ${r.onward.length} onward transfer(s)${r.onward.length ? `: ${r.onward.map((o: Json) => `${account(o.bank, o.account)} ${cny(o.amountFen)}`).join('; ')}` : ''}` : '';
          push(event, 'bank_answer', `${account(activity.input?.bank, activity.input?.account)} answered the ${BANK_ACTIVITIES[activity.name]} ${activity.input?.instructionId}: ${r.status}${held}${onward}`, undefined, {
            activity: activity.name,
            instructionId: activity.input?.instructionId,
            ...r,
          });
        } else {
          push(event, 'activity_completed', `Activity ${activity.name} completed${facts(result)}`, undefined, { activity: activity.name });
        }
        break;
      }
      case 'ACTIVITY_TASK_FAILED':
      case 'ACTIVITY_TASK_TIMED_OUT':
      case 'ACTIVITY_TASK_CANCELED': {
        const activity = scheduled.get(String(a.scheduledEventId));
        const why = a.failure?.cause?.message ?? a.failure?.message ?? type.toLowerCase();
        push(event, BANK_ACTIVITIES[activity?.name ?? ''] ? 'bank_failed' : 'activity_failed', `${activity?.name ?? 'Activity'} ${type === 'ACTIVITY_TASK_CANCELED' ? 'was cancelled' : `failed: ${why}`}`, undefined, {
          activity: activity?.name ?? null,
        });
        break;
      }
      case 'START_CHILD_WORKFLOW_EXECUTION_INITIATED': {
        const childType = String(a.workflowType?.name ?? '?');
        const input = firstPayload(a.input);
        const hold = isObject(input) && isObject(input.hold) ? input.hold : null;
        children.set(String(a.workflowId), childType);
        push(event, 'child_workflow_started', `Started ${childType} ${a.workflowId}${hold ? ` for ${account(hold.bank, hold.account)}, ${cny(hold.requestedFen)}, level ${hold.level}` : ''}`, undefined, {
          workflowId: a.workflowId,
          workflowType: childType,
        });
        break;
      }
      case 'START_CHILD_WORKFLOW_EXECUTION_FAILED':
        push(event, 'child_workflow_failed', `Could not start ${a.workflowType?.name ?? 'a child workflow'} ${a.workflowId} (${a.cause})`);
        break;
      case 'CHILD_WORKFLOW_EXECUTION_COMPLETED': {
        const id = a.workflowExecution?.workflowId;
        const state = viewState(firstPayload(a.result));
        push(event, 'child_workflow_completed', `${children.get(id) ?? 'Child workflow'} ${id} finished${state ? `: ${state}` : ''}`, undefined, { workflowId: id });
        break;
      }
      case 'CHILD_WORKFLOW_EXECUTION_FAILED':
      case 'CHILD_WORKFLOW_EXECUTION_TIMED_OUT':
      case 'CHILD_WORKFLOW_EXECUTION_TERMINATED':
      case 'CHILD_WORKFLOW_EXECUTION_CANCELED': {
        const id = a.workflowExecution?.workflowId;
        push(event, 'child_workflow_ended', `${children.get(id) ?? 'Child workflow'} ${id} ${type.replace('CHILD_WORKFLOW_EXECUTION_', '').toLowerCase().replace('_', ' ')}${a.failure?.message ? `: ${a.failure.message}` : ''}`, undefined, { workflowId: id });
        break;
      }
      case 'WORKFLOW_TASK_FAILED': {
        // A new event arriving while the workflow completes a task is routine, not a fault.
        if (a.cause === 'WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND') break;
        push(event, 'workflow_task_failed', `A workflow task failed (${String(a.cause ?? '').replace('WORKFLOW_TASK_FAILED_CAUSE_', '').toLowerCase()}): ${a.failure?.message ?? ''}`);
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
        push(event, 'workflow_continued_as_new', `Continued as new run ${a.newExecutionRunId}${hold ? `: ${holdState(hold)}` : ''}`, undefined, { newRunId: a.newExecutionRunId });
        break;
      }
      case 'WORKFLOW_EXECUTION_FAILED':
        push(event, 'workflow_failed', `Workflow failed: ${a.failure?.message ?? 'unknown error'}`);
        break;
      case 'WORKFLOW_EXECUTION_TERMINATED':
        push(event, 'workflow_terminated', `Workflow terminated${a.identity ? ` by ${a.identity}` : ''}${quoted(a.reason)}`);
        break;
      case 'WORKFLOW_EXECUTION_CANCELED':
        push(event, 'workflow_cancelled', 'Workflow cancelled');
        break;
      case 'WORKFLOW_EXECUTION_TIMED_OUT':
        push(event, 'workflow_timed_out', 'Workflow timed out');
        break;
      case 'WORKFLOW_EXECUTION_CANCEL_REQUESTED':
        push(event, 'cancel_requested', `Cancellation requested${a.identity ? ` by ${a.identity}` : ''}${quoted(a.cause)}`);
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
