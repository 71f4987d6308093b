/**
 * AlertWorkflow (DESIGN.md §4): one early-warning alert from the platform's push to a closed case.
 * Humans decide through validated Updates; deadlines are timers that escalate but never close.
 */
import {
  allHandlersFinished,
  condition,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { AlertActivities } from '../activities/read-model.js';
import { RISK_RANK, type AlertInput, type AlertOutcome, type DecisionActor } from '../domain/alert.js';
import type { AlertPolicy } from '../domain/policy.js';
import type { AlertStepKind } from '../domain/steps.js';
import {
  escalationRecipient,
  nextEscalationAt,
  raiseDueEscalations,
  raiseEscalation,
  startDeadline,
  type Deadline as EscalatingDeadline,
} from './escalation.js';
import {
  alertStateQuery,
  callResultUpdate,
  cancelAlertUpdate,
  claimUpdate,
  forceReleaseUpdate,
  linkStopPaymentSignal,
  platformUpdateSignal,
  REFUSAL,
  releaseUpdate,
  transferUpdate,
  visitResultUpdate,
  type CallResultDecision,
  type CancelDecision,
  type ClaimDecision,
  type ForceReleaseDecision,
  type PlatformUpdate,
  type ReleaseDecision,
  type TransferDecision,
  type VisitResultDecision,
  type AlertAnswer as AlertView,
  type AlertResult,
} from './messages.js';
import { createRecorder, type Recorder } from './recorder.js';
import { iso, PROJECTION_OPTIONS, refuse, requireState } from './shared.js';

export interface AlertWorkflowInput {
  alert: AlertInput;
  receivedAt: string;
  /** The policy in force when the alert arrived; it never changes under replay. */
  policy: AlertPolicy;
}

const { recordAlertEvents } = proxyActivities<AlertActivities>(PROJECTION_OPTIONS);

/** Patch: a supervisor may take a held alert back to the queue (`forceRelease`). */
export const SUPERVISOR_RELEASE = 'supervisor-release';
/** Patch: a repeated push that raises nothing is counted in the view, not recorded as a step each time. */
export const COALESCE_PUSHES = 'coalesce-platform-pushes';

type DeadlineKind = 'claim' | 'call' | 'visit';
type Deadline = EscalatingDeadline<DeadlineKind>;

/** One alert: its view, its deadlines, a method per decision. AlertWorkflow wires it up. */
class Alert {
  readonly view: AlertView;
  readonly recorder: Recorder<AlertStepKind>;
  private readonly policy: AlertPolicy;
  private deadline: Deadline | null = null;
  /** The claim deadline, kept while an operator calls so that `release` puts it back unchanged. */
  private claimDeadline: Deadline | null = null;
  private retryAt: number | null = null;

  constructor(input: AlertWorkflowInput) {
    const { alert } = input;
    this.policy = input.policy;
    this.view = {
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
      repeatedPushes: null,
    };
    this.recorder = createRecorder<AlertView, AlertStepKind>({
      snapshot: () => this.snapshot(),
      write: recordAlertEvents,
    });
  }

  /** A decision's answer: the view, and its steps not yet handed to a projection (see PendingSteps). */
  answer(): AlertView {
    return { ...this.snapshot(), pendingSteps: this.recorder.queued };
  }

  snapshot(): AlertView {
    const { view } = this;
    return { ...view, assignee: view.assignee && { ...view.assignee } };
  }

  /** How it ended (the workflow's result): the view itself is in the last projection. */
  result(): AlertResult {
    const { alertId, workflowId, state, outcome, closedAt } = this.view;
    return { alertId, workflowId, state, outcome, closedAt };
  }

  get closed(): boolean {
    return this.view.state === 'closed';
  }

  // --- deadlines ------------------------------------------------------------------------------

  private setDeadline(kind: DeadlineKind, span: number, from = Date.now()) {
    this.deadline = startDeadline(kind, span, from);
    this.showDeadline();
  }

  private showDeadline() {
    const { view, deadline, retryAt } = this;
    view.deadline = deadline ? iso(deadline.dueAt) : retryAt !== null ? iso(retryAt) : null;
    view.escalationLevel = deadline?.level ?? 0;
    view.overdue = (deadline?.level ?? 0) > 0;
  }

  private escalate(missed: Deadline) {
    const { view } = this;
    const step = raiseEscalation(missed);
    this.showDeadline();
    this.recorder.record('deadline_missed', null, step);
    this.recorder.notify({
      recipientRole: escalationRecipient(missed.level),
      kind: 'alert_overdue',
      message: `Alert ${view.alertId} (${view.riskLevel} risk, station ${view.stationId}): ${missed.kind} deadline ${iso(missed.dueAt)} missed, escalation level ${missed.level}.`,
      payload: { alertId: view.alertId, deadline: missed.kind, level: missed.level, state: view.state },
    });
  }

  /** Before a decision changes anything: the escalations its deadline's timer would already have raised. */
  private raiseDue() {
    raiseDueEscalations(this.deadline, Date.now(), (missed) => this.escalate(missed));
  }

  /** When the main loop must wake on its own: a retry coming due, or the deadline's next escalation. */
  nextWake(): number | null {
    if (this.view.state === 'retry_wait') return this.retryAt;
    return nextEscalationAt(this.deadline);
  }

  // --- states ---------------------------------------------------------------------------------

  private enterQueue() {
    this.view.state = 'queued';
    this.view.assignee = null;
    this.retryAt = null;
    this.setDeadline('claim', this.policy.claimSla[this.view.riskLevel]);
  }

  private enterVisit(why: string) {
    const { view } = this;
    view.state = 'visit_pending';
    view.assignee = null;
    this.retryAt = null;
    this.setDeadline('visit', this.policy.visitSla[view.riskLevel]);
    this.recorder.record('visit_requested', null, { reason: why, stationId: view.stationId, deadline: view.deadline });
  }

  private close(outcome: AlertOutcome, actor: DecisionActor | null, detail: Record<string, unknown> = {}) {
    this.view.state = 'closed';
    this.view.outcome = outcome;
    this.view.closedAt = iso(Date.now());
    this.deadline = null;
    this.claimDeadline = null;
    this.retryAt = null;
    this.showDeadline();
    this.recorder.record('closed', actor, { outcome, ...detail });
  }

  /** The alert as the platform pushed it: queued, its claim deadline running. */
  receive({ alert }: AlertWorkflowInput) {
    this.recorder.record('received', null, {
      source: alert.source,
      riskLevel: alert.riskLevel,
      issuedAt: alert.issuedAt,
    });
    this.enterQueue();
  }

  /** The main loop woke at `nextWake()` with nothing decided meanwhile. */
  timerFired() {
    if (this.view.state === 'retry_wait') {
      this.enterQueue();
      this.recorder.record('requeued', null, { attempt: this.view.callAttempts + 1, deadline: this.view.deadline });
    } else if (this.deadline) {
      this.escalate(this.deadline);
    }
  }

  // --- decisions (Updates): validator, then the decision --------------------------------------

  private requireState(...states: AlertView['state'][]) {
    const { view } = this;
    requireState(
      `Alert ${view.alertId}`,
      view.state,
      states,
      `${view.state}${view.outcome ? ` (${view.outcome})` : ''}`,
    );
  }

  private requireAssignee(actor: DecisionActor) {
    const { view } = this;
    if (view.assignee?.userId !== actor.userId)
      throw refuse(
        REFUSAL.notAssignee,
        `Alert ${view.alertId} is assigned to ${view.assignee ? view.assignee.name : 'nobody'}, not to you.`,
      );
  }

  validateClaim(_decision: ClaimDecision) {
    this.requireState('queued');
  }

  claim({ actor }: ClaimDecision): AlertView {
    const { view } = this;
    this.raiseDue();
    view.state = 'calling';
    view.assignee = { userId: actor.userId, name: actor.name };
    view.firstCallAt ??= iso(Date.now());
    this.claimDeadline = this.deadline;
    this.setDeadline('call', this.policy.callTimeout);
    this.recorder.record('claimed', actor, { attempt: view.callAttempts + 1 });
    return this.answer();
  }

  validateRelease({ actor }: ReleaseDecision) {
    this.requireState('calling');
    this.requireAssignee(actor);
  }

  release({ actor, note }: ReleaseDecision): AlertView {
    this.backToQueue();
    this.recorder.record('released', actor, note ? { note } : {});
    return this.answer();
  }

  validateForceRelease(_decision: ForceReleaseDecision) {
    this.requireState('calling');
  }

  forceRelease({ actor, reason }: ForceReleaseDecision): AlertView {
    const heldBy = this.view.assignee;
    this.backToQueue();
    this.recorder.record('released', actor, { reason, heldBy });
    return this.answer();
  }

  /** Back in the queue, under the claim deadline it had before the call. */
  private backToQueue() {
    this.raiseDue();
    this.view.state = 'queued';
    this.view.assignee = null;
    this.deadline = this.claimDeadline;
    this.claimDeadline = null;
    this.showDeadline();
  }

  validateCallResult({ actor }: CallResultDecision) {
    this.requireState('calling');
    this.requireAssignee(actor);
  }

  callResult(decision: CallResultDecision): AlertView {
    const { view, policy, recorder } = this;
    this.raiseDue();
    const { actor } = decision;
    view.callAttempts += 1;
    this.claimDeadline = null;
    if (decision.result === 'contacted') {
      if (decision.amountAtRiskFen !== undefined) view.amountAtRiskFen = decision.amountAtRiskFen;
      recorder.record('call_result', actor, {
        result: 'contacted',
        outcome: decision.outcome,
        amountAtRiskFen: decision.amountAtRiskFen ?? null,
        note: decision.note ?? null,
      });
      if (decision.outcome === 'refused') this.enterVisit('refused');
      else this.close(decision.outcome === 'already_defrauded' ? 'defrauded' : decision.outcome, actor);
      return this.answer();
    }
    recorder.record('call_result', actor, {
      result: 'not_reached',
      reason: decision.reason ?? null,
      attempt: view.callAttempts,
      note: decision.note ?? null,
    });
    if (view.callAttempts < policy.maxCallAttempts) {
      view.state = 'retry_wait';
      view.assignee = null;
      this.deadline = null;
      const retryAt = Date.now() + policy.retryDelay[view.riskLevel];
      this.retryAt = retryAt;
      this.showDeadline();
      recorder.record('retry_scheduled', null, {
        at: iso(retryAt),
        attemptsLeft: policy.maxCallAttempts - view.callAttempts,
      });
    } else if (policy.visitOnUnreachable[view.riskLevel]) {
      this.enterVisit('unreachable');
    } else {
      this.close('unreachable', null, { reason: 'call attempts exhausted' });
    }
    return this.answer();
  }

  validateVisitResult({ actor, stationId }: VisitResultDecision) {
    this.requireState('visit_pending');
    // A station officer reports visits only for their own station's alerts; a supervisor for any.
    if (actor.role === 'station' && stationId !== this.view.stationId)
      throw refuse(
        REFUSAL.notAssignee,
        `Alert ${this.view.alertId} belongs to station ${this.view.stationId}; only its officers or a supervisor may report its visit.`,
      );
  }

  visitResult({ actor, outcome, note }: VisitResultDecision): AlertView {
    this.raiseDue();
    this.recorder.record('visit_result', actor, { outcome, stationId: this.view.stationId, note: note ?? null });
    this.close(
      outcome === 'not_found' ? 'unreachable' : outcome === 'already_defrauded' ? 'defrauded' : outcome,
      actor,
    );
    return this.answer();
  }

  validateTransfer({ stationId }: TransferDecision) {
    this.requireState('visit_pending');
    if (stationId === this.view.stationId)
      throw refuse(REFUSAL.invalidTransition, `Alert ${this.view.alertId} already belongs to station ${stationId}.`);
  }

  transfer({ actor, stationId, reason }: TransferDecision): AlertView {
    const { view } = this;
    this.raiseDue();
    const from = view.stationId;
    view.stationId = stationId;
    this.setDeadline('visit', this.policy.visitSla[view.riskLevel]);
    this.recorder.record('transferred', actor, { from, to: stationId, reason, deadline: view.deadline });
    return this.answer();
  }

  validateCancel(_decision: CancelDecision) {
    this.requireState('queued', 'calling', 'retry_wait', 'visit_pending');
  }

  cancel({ actor, reason }: CancelDecision): AlertView {
    this.raiseDue();
    this.close('cancelled', actor, { reason });
    return this.answer();
  }

  // --- signals --------------------------------------------------------------------------------

  /** @param coalesce a repeat that raises nothing is counted, not a step (COALESCE_PUSHES) */
  platformUpdate({ riskLevel, receivedAt, note }: PlatformUpdate, coalesce: boolean) {
    const { view, policy, deadline } = this;
    const raised = view.state !== 'closed' && RISK_RANK[riskLevel] < RISK_RANK[view.riskLevel];
    if (!raised && coalesce) {
      // Not a step: no timeline entry, no re-armed timer; a platform re-pushing hundreds of times keeps a short history.
      view.repeatedPushes = {
        count: (view.repeatedPushes?.count ?? 0) + 1,
        lastReceivedAt: receivedAt,
        note: note ?? null,
      };
      this.recorder.touch();
      return;
    }
    const from = view.riskLevel;
    if (raised) {
      view.riskLevel = riskLevel;
      // A higher risk may only bring the claim deadline forward, never push it back.
      if (view.state === 'queued' && deadline) {
        const dueAt = Math.min(deadline.dueAt, Date.parse(receivedAt) + policy.claimSla[riskLevel]);
        if (dueAt < deadline.dueAt)
          this.setDeadline('claim', policy.claimSla[riskLevel], dueAt - policy.claimSla[riskLevel]);
      }
    }
    this.recorder.record('platform_update', null, {
      riskLevel,
      raisedFrom: raised ? from : null,
      receivedAt,
      note: note ?? null,
    });
  }

  linkStopPayment({ stopPaymentId }: { stopPaymentId: string }) {
    this.view.stopPaymentId = stopPaymentId;
    this.recorder.record('stop_payment_linked', null, { stopPaymentId });
  }
}

export async function AlertWorkflow(input: AlertWorkflowInput): Promise<AlertResult> {
  const alert = new Alert(input);
  const { recorder } = alert;

  // The alert is queued before any handler exists: a decision delivered with the first workflow task
  // (a claim right after the push) must see, and not be overwritten by, the initial state.
  alert.receive(input);

  setHandler(claimUpdate, (decision) => alert.claim(decision), {
    validator: (decision) => alert.validateClaim(decision),
  });
  setHandler(releaseUpdate, (decision) => alert.release(decision), {
    validator: (decision) => alert.validateRelease(decision),
  });
  // Added to deployed workflows: alerts started before it replay without this handler (and refuse it).
  if (patched(SUPERVISOR_RELEASE))
    setHandler(forceReleaseUpdate, (decision) => alert.forceRelease(decision), {
      validator: (decision) => alert.validateForceRelease(decision),
    });
  setHandler(callResultUpdate, (decision) => alert.callResult(decision), {
    validator: (decision) => alert.validateCallResult(decision),
  });
  setHandler(visitResultUpdate, (decision) => alert.visitResult(decision), {
    validator: (decision) => alert.validateVisitResult(decision),
  });
  setHandler(transferUpdate, (decision) => alert.transfer(decision), {
    validator: (decision) => alert.validateTransfer(decision),
  });
  setHandler(cancelAlertUpdate, (decision) => alert.cancel(decision), {
    validator: (decision) => alert.validateCancel(decision),
  });
  setHandler(platformUpdateSignal, (update) => alert.platformUpdate(update, patched(COALESCE_PUSHES)));
  setHandler(linkStopPaymentSignal, (link) => alert.linkStopPayment(link));
  setHandler(alertStateQuery, () => alert.snapshot());

  // Timers: retries come back to the queue, missed deadlines escalate; any step re-arms them.
  while (!alert.closed) {
    const seen = recorder.changes;
    const wakeAt = alert.nextWake();
    const changed =
      wakeAt === null
        ? await condition(() => recorder.changes !== seen).then(() => true)
        : await condition(() => recorder.changes !== seen, Math.max(wakeAt - Date.now(), 1));
    if (changed) continue;
    alert.timerFired();
  }

  await condition(allHandlersFinished);
  await recorder.flush();
  return alert.result();
}
