/**
 * AlertWorkflow (DESIGN.md §4): one early-warning alert from the platform's push to a closed case.
 * Humans decide through validated Updates; deadlines are timers that escalate but never close.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { AlertActivities } from '../activities/alert-record.js';
import {
  RISK_RANK,
  type AlertInput,
  type AlertOutcome,
  type AlertView,
  type DecisionActor,
} from '../domain/alert.js';
import {
  alertStateQuery,
  callResultUpdate,
  cancelAlertUpdate,
  claimUpdate,
  linkStopPaymentSignal,
  platformUpdateSignal,
  REFUSAL,
  releaseUpdate,
  transferUpdate,
  visitResultUpdate,
} from './messages.js';
import type { AlertPolicy } from '../domain/policy.js';
import { escalationRecipient, nextEscalationAt, raiseDueEscalations, startDeadline, type Deadline as EscalatingDeadline } from './escalation.js';
import { createRecorder } from './recorder.js';

export interface AlertWorkflowInput {
  alert: AlertInput;
  receivedAt: string;
  /** The policy in force when the alert arrived; it never changes under replay. */
  policy: AlertPolicy;
}

const { recordAlertEvents } = proxyActivities<AlertActivities>({
  startToCloseTimeout: '30s',
  // Projections must land eventually, through any database outage.
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
});

type DeadlineKind = 'claim' | 'call' | 'visit';
type Deadline = EscalatingDeadline<DeadlineKind>;

const refuse = (type: string, message: string) => ApplicationFailure.create({ type, message, nonRetryable: true });
const iso = (ms: number) => new Date(ms).toISOString();

export async function AlertWorkflow(input: AlertWorkflowInput): Promise<AlertView> {
  const { alert, policy } = input;
  const view: AlertView = {
    alertId: alert.alertId,
    workflowId: workflowInfo().workflowId,
    state: 'queued',
    outcome: null,
    riskLevel: alert.riskLevel,
    fraudType: alert.fraudType,
    stationId: alert.stationId,
    source: alert.source,
    issuedAt: alert.issuedAt,
    receivedAt: input.receivedAt,
    victim: { phone: alert.victim.phone, name: alert.victim.name ?? null },
    suspect: alert.suspect ?? null,
    note: alert.note ?? null,
    assignee: null,
    callAttempts: 0,
    escalationLevel: 0,
    overdue: false,
    deadline: null,
    amountAtRiskFen: null,
    stopPaymentId: null,
    firstCallAt: null,
    closedAt: null,
    timeline: [],
  };

  let deadline: Deadline | null = null;
  /** The claim deadline, kept while an operator calls so that `release` puts it back unchanged. */
  let claimDeadline: Deadline | null = null;
  let retryAt: number | null = null;

  const snapshot = (): AlertView => ({ ...view, assignee: view.assignee && { ...view.assignee }, timeline: [...view.timeline] });
  const recorder = createRecorder({ timeline: view.timeline, snapshot, write: recordAlertEvents });
  const record = recorder.record;

  function setDeadline(kind: DeadlineKind, span: number, from = Date.now()) {
    deadline = startDeadline(kind, span, from);
    showDeadline();
  }

  function showDeadline() {
    view.deadline = deadline ? iso(deadline.dueAt) : retryAt !== null ? iso(retryAt) : null;
    view.escalationLevel = deadline?.level ?? 0;
    view.overdue = (deadline?.level ?? 0) > 0;
  }

  function enterQueue() {
    view.state = 'queued';
    view.assignee = null;
    retryAt = null;
    setDeadline('claim', policy.claimSla[view.riskLevel]);
  }

  function enterVisit(why: string) {
    view.state = 'visit_pending';
    view.assignee = null;
    retryAt = null;
    setDeadline('visit', policy.visitSla[view.riskLevel]);
    record('visit_requested', null, { reason: why, stationId: view.stationId, deadline: view.deadline });
  }

  function close(outcome: AlertOutcome, actor: DecisionActor | null, detail: Record<string, unknown> = {}) {
    view.state = 'closed';
    view.outcome = outcome;
    view.closedAt = iso(Date.now());
    deadline = null;
    claimDeadline = null;
    retryAt = null;
    showDeadline();
    record('closed', actor, { outcome, ...detail });
  }

  function escalate(missed: Deadline) {
    missed.level += 1;
    showDeadline();
    const recipientRole = escalationRecipient(missed.level);
    record('deadline_missed', null, { deadline: missed.kind, level: missed.level, dueAt: iso(missed.dueAt), notified: recipientRole });
    recorder.notify({
      recipientRole,
      kind: 'alert_overdue',
      message: `Alert ${view.alertId} (${view.riskLevel} risk, station ${view.stationId}): ${missed.kind} deadline ${iso(missed.dueAt)} missed, escalation level ${missed.level}.`,
      payload: { alertId: view.alertId, deadline: missed.kind, level: missed.level, state: view.state },
    });
  }
  /** Before a decision changes anything: the escalations its deadline's timer would already have raised. */
  function raiseDue() {
    raiseDueEscalations(deadline, Date.now(), escalate);
  }


  // The alert is queued before any handler exists: a decision delivered with the first workflow task
  // (a claim right after the push) must see, and not be overwritten by, the initial state.
  record('received', null, { source: alert.source, riskLevel: alert.riskLevel, issuedAt: alert.issuedAt });
  enterQueue();

  // --- decisions ----------------------------------------------------------------------------

  const requireState = (...states: AlertView['state'][]) => {
    if (!states.includes(view.state))
      throw refuse(REFUSAL.invalidTransition, `Alert ${view.alertId} is ${view.state}${view.outcome ? ` (${view.outcome})` : ''}; this needs it to be ${states.join(' or ')}.`);
  };
  const requireAssignee = (actor: DecisionActor) => {
    if (view.assignee?.userId !== actor.userId)
      throw refuse(REFUSAL.notAssignee, `Alert ${view.alertId} is assigned to ${view.assignee ? view.assignee.name : 'nobody'}, not to you.`);
  };

  setHandler(
    claimUpdate,
    ({ actor }) => {
      raiseDue();
      view.state = 'calling';
      view.assignee = { userId: actor.userId, name: actor.name };
      view.firstCallAt ??= iso(Date.now());
      claimDeadline = deadline;
      setDeadline('call', policy.callTimeout);
      record('claimed', actor, { attempt: view.callAttempts + 1 });
      return snapshot();
    },
    { validator: (_decision) => requireState('queued') },
  );

  setHandler(
    releaseUpdate,
    ({ actor, note }) => {
      raiseDue();
      view.state = 'queued';
      view.assignee = null;
      deadline = claimDeadline;
      claimDeadline = null;
      showDeadline();
      record('released', actor, note ? { note } : {});
      return snapshot();
    },
    {
      validator: ({ actor }) => {
        requireState('calling');
        requireAssignee(actor);
      },
    },
  );

  setHandler(
    callResultUpdate,
    (decision) => {
      raiseDue();
      const { actor } = decision;
      view.callAttempts += 1;
      claimDeadline = null;
      if (decision.result === 'contacted') {
        if (decision.amountAtRiskFen !== undefined) view.amountAtRiskFen = decision.amountAtRiskFen;
        record('call_result', actor, { result: 'contacted', outcome: decision.outcome, amountAtRiskFen: decision.amountAtRiskFen ?? null, note: decision.note ?? null });
        if (decision.outcome === 'refused') enterVisit('refused');
        else close(decision.outcome === 'already_defrauded' ? 'defrauded' : decision.outcome, actor);
        return snapshot();
      }
      record('call_result', actor, { result: 'not_reached', reason: decision.reason ?? null, attempt: view.callAttempts, note: decision.note ?? null });
      if (view.callAttempts < policy.maxCallAttempts) {
        view.state = 'retry_wait';
        view.assignee = null;
        deadline = null;
        retryAt = Date.now() + policy.retryDelay[view.riskLevel];
        showDeadline();
        record('retry_scheduled', null, { at: iso(retryAt), attemptsLeft: policy.maxCallAttempts - view.callAttempts });
      } else if (policy.visitOnUnreachable[view.riskLevel]) {
        enterVisit('unreachable');
      } else {
        close('unreachable', null, { reason: 'call attempts exhausted' });
      }
      return snapshot();
    },
    {
      validator: (decision) => {
        requireState('calling');
        requireAssignee(decision.actor);
      },
    },
  );

  setHandler(
    visitResultUpdate,
    ({ actor, outcome, note }) => {
      raiseDue();
      record('visit_result', actor, { outcome, stationId: view.stationId, note: note ?? null });
      close(outcome === 'not_found' ? 'unreachable' : outcome === 'already_defrauded' ? 'defrauded' : outcome, actor);
      return snapshot();
    },
    { validator: (_decision) => requireState('visit_pending') },
  );

  setHandler(
    transferUpdate,
    ({ actor, stationId, reason }) => {
      raiseDue();
      const from = view.stationId;
      view.stationId = stationId;
      setDeadline('visit', policy.visitSla[view.riskLevel]);
      record('transferred', actor, { from, to: stationId, reason, deadline: view.deadline });
      return snapshot();
    },
    {
      validator: ({ stationId }) => {
        requireState('visit_pending');
        if (stationId === view.stationId)
          throw refuse(REFUSAL.invalidTransition, `Alert ${view.alertId} already belongs to station ${stationId}.`);
      },
    },
  );

  setHandler(
    cancelAlertUpdate,
    ({ actor, reason }) => {
      raiseDue();
      close('cancelled', actor, { reason });
      return snapshot();
    },
    { validator: (_decision) => requireState('queued', 'calling', 'retry_wait', 'visit_pending') },
  );

  setHandler(platformUpdateSignal, ({ riskLevel, receivedAt, note }) => {
    const raised = view.state !== 'closed' && RISK_RANK[riskLevel] < RISK_RANK[view.riskLevel];
    const from = view.riskLevel;
    if (raised) {
      view.riskLevel = riskLevel;
      // A higher risk may only bring the claim deadline forward, never push it back.
      if (view.state === 'queued' && deadline) {
        const dueAt = Math.min(deadline.dueAt, Date.parse(receivedAt) + policy.claimSla[riskLevel]);
        if (dueAt < deadline.dueAt) setDeadline('claim', policy.claimSla[riskLevel], dueAt - policy.claimSla[riskLevel]);
      }
    }
    record('platform_update', null, { riskLevel, raisedFrom: raised ? from : null, receivedAt, note: note ?? null });
  });

  setHandler(linkStopPaymentSignal, ({ stopPaymentId }) => {
    view.stopPaymentId = stopPaymentId;
    record('stop_payment_linked', null, { stopPaymentId });
  });

  setHandler(alertStateQuery, snapshot);

  // --- timers: retries come back to the queue, missed deadlines escalate ---------------------
  const nextWake = (): number | null => {
    if (view.state === 'retry_wait') return retryAt;
    return nextEscalationAt(deadline);
  };
  while (view.state !== 'closed') {
    const seen = recorder.changes;
    const wakeAt = nextWake();
    const changed =
      wakeAt === null
        ? await condition(() => recorder.changes !== seen).then(() => true)
        : await condition(() => recorder.changes !== seen, Math.max(wakeAt - Date.now(), 1));
    if (changed) continue;
    if (view.state === 'retry_wait') {
      enterQueue();
      record('requeued', null, { attempt: view.callAttempts + 1, deadline: view.deadline });
    } else if (deadline) {
      escalate(deadline);
    }
  }

  await condition(allHandlersFinished);
  await recorder.flush();
  return snapshot();
}
