/**
 * StopPaymentWorkflow (DESIGN.md §5): one emergency stop-payment case, from the 110 desk's filing
 * through approval to a HoldWorkflow child per account the money reached, closing when every hold is
 * final. The approval deadline escalates and never approves by itself.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { StopPaymentRecordActivities } from '../activities/read-model.js';
import { alertWorkflowId, type DecisionActor } from '../domain/alert.js';
import type { OnwardTransfer } from '../domain/bank.js';
import type { StopPaymentPolicy } from '../domain/policy.js';
import type { StopPaymentStepKind } from '../domain/steps.js';
import {
  holdIdFor,
  holdWorkflowId,
  isFinalHold,
  type HoldView,
  type StopPaymentInput,
} from '../domain/stop-payment.js';
import {
  escalationRecipient,
  nextEscalationAt,
  raiseDueEscalations,
  raiseEscalation,
  startDeadline,
  type Deadline,
} from './escalation.js';
import { HoldWorkflow, type HoldWorkflowInput } from './hold.js';
import {
  approveUpdate,
  holdChangedSignal,
  linkStopPaymentSignal,
  onwardFoundSignal,
  REFUSAL,
  rejectUpdate,
  releaseCaseUpdate,
  releaseHoldSignal,
  stopPaymentStateQuery,
  type ApproveDecision,
  type OnwardFound,
  type RejectDecision,
  type ReleaseCaseDecision,
  type StopPaymentAnswer as StopPaymentView,
  type StopPaymentResult,
} from './messages.js';
import { createRecorder, type Recorder } from './recorder.js';
import { ANSWER_WAIT, iso, PROJECTION_OPTIONS, refuse, requireState } from './shared.js';

export interface StopPaymentWorkflowInput {
  stopPaymentId: string;
  filing: StopPaymentInput;
  createdBy: DecisionActor;
  createdAt: string;
  policy: StopPaymentPolicy;
  /** Carried across continue-as-new: the case as the run before left it, and its last step. */
  resume?: { seq: number; view: StopPaymentView };
}

const { recordStopPaymentEvents, linkAlertToStopPayment } =
  proxyActivities<StopPaymentRecordActivities>(PROJECTION_OPTIONS);

/** Patch: holds started from here on are abandoned, not terminated, when their case closes. */
const HOLDS_OUTLIVE_CASE = 'holds-outlive-case-close';
/** Patch: a case with a long history goes on in a fresh run (its holds, abandoned on close, follow it). */
export const CASE_CONTINUES_AS_NEW = 'case-continues-as-new';
const accountKey = (bank: string, account: string) => `${bank}\u0000${account}`;
const releasable = (hold: HoldView) => hold.state === 'stopped' || hold.state === 'frozen' || hold.state === 'freezing';
const yuan = (fen: number) => (fen / 100).toFixed(2);

/** One case: its view, its holds, its approval deadline, a method per decision. StopPaymentWorkflow wires it up. */
class StopPaymentCase {
  readonly view: StopPaymentView;
  readonly recorder: Recorder<StopPaymentStepKind>;
  private readonly input: StopPaymentWorkflowInput;
  private deadline: Deadline<'approval'> | null = null;
  private readonly heldAccounts = new Set<string>();
  /** Holds found but whose HoldWorkflow the main loop has not started yet. */
  private readonly holdsToStart: HoldView[] = [];

  constructor(input: StopPaymentWorkflowInput) {
    const { filing, stopPaymentId } = input;
    this.input = input;
    this.view = input.resume
      ? { ...input.resume.view, holds: input.resume.view.holds.map((h) => ({ ...h })) }
      : {
          stopPaymentId,
          workflowId: workflowInfo().workflowId,
          state: 'pending_approval',
          createdBy: { userId: input.createdBy.userId, name: input.createdBy.name },
          approvedBy: null,
          rejectedBy: null,
          rejectionReason: null,
          reportedAt: filing.reportedAt,
          createdAt: input.createdAt,
          approvedAt: null,
          firstStopAt: null,
          closedAt: null,
          deadline: null,
          escalationLevel: 0,
          major: false,
          requestedFen: filing.transfers.reduce((sum, t) => sum + t.amountFen, 0),
          stoppedFen: 0,
          frozenFen: 0,
          caseRef: filing.caseRef ?? null,
          alertId: filing.alertId ?? null,
          victim: { ...filing.victim },
          transfers: filing.transfers,
          holds: [],
        };
    for (const hold of this.view.holds) this.heldAccounts.add(accountKey(hold.bank, hold.account));
    this.recorder = createRecorder<StopPaymentView, StopPaymentStepKind>({
      snapshot: () => this.snapshot(),
      write: recordStopPaymentEvents,
      startSeq: input.resume?.seq,
    });
  }

  /** The next run's input: the case as it is, its holds still running (they signal the case by its workflow ID). */
  continuation(): StopPaymentWorkflowInput {
    return { ...this.input, resume: { seq: this.recorder.seq, view: this.snapshot() } };
  }

  /** A decision's answer: the view, and its steps not yet handed to a projection (see PendingSteps). */
  answer(): StopPaymentView {
    return { ...this.snapshot(), pendingSteps: this.recorder.queued };
  }

  /** How it ended (the workflow's result): the view itself is in the last projection. */
  result(): StopPaymentResult {
    const { stopPaymentId, workflowId, state, requestedFen, stoppedFen, frozenFen, closedAt } = this.view;
    return { stopPaymentId, workflowId, state, requestedFen, stoppedFen, frozenFen, closedAt };
  }

  snapshot(): StopPaymentView {
    const { view } = this;
    return { ...view, holds: view.holds.map((h) => ({ ...h })) };
  }

  get pendingApproval(): boolean {
    return this.view.state === 'pending_approval';
  }

  get active(): boolean {
    return this.view.state === 'active';
  }

  // --- approval deadline ----------------------------------------------------------------------

  private showDeadline() {
    this.view.deadline = this.deadline ? iso(this.deadline.dueAt) : null;
    this.view.escalationLevel = this.deadline?.level ?? 0;
  }

  private escalateApproval(missed: Deadline<'approval'>) {
    const { view } = this;
    const step = raiseEscalation(missed);
    this.showDeadline();
    this.recorder.record('deadline_missed', null, step);
    this.recorder.notify({
      recipientRole: escalationRecipient(missed.level),
      kind: 'approval_overdue',
      message: `Stop-payment ${view.stopPaymentId} (${yuan(view.requestedFen)} CNY) has waited for approval since ${view.createdAt}: escalation level ${missed.level}.`,
      payload: { stopPaymentId: view.stopPaymentId, level: missed.level },
    });
  }

  /** Before a decision changes anything: the escalations the approval timer would already have raised. */
  private raiseDue() {
    raiseDueEscalations(this.deadline, Date.now(), (missed) => this.escalateApproval(missed));
  }

  nextWake(): number | null {
    return nextEscalationAt(this.deadline);
  }

  /** The approval timer fired with no decision meanwhile. */
  approvalOverdue() {
    if (this.deadline) this.escalateApproval(this.deadline);
  }

  // --- holds ----------------------------------------------------------------------------------

  /** Totals are always the sum over holds (once there are holds). */
  private retotal() {
    const { view } = this;
    if (view.holds.length === 0) return;
    view.requestedFen = view.holds.reduce((sum, h) => sum + h.requestedFen, 0);
    view.stoppedFen = view.holds.reduce((sum, h) => sum + h.stoppedFen, 0);
    view.frozenFen = view.holds.reduce((sum, h) => sum + h.frozenFen, 0);
  }

  private addHold(
    bank: string,
    account: string,
    requestedFen: number,
    level: number,
    parentHoldId: string | null,
  ): HoldView | null {
    const key = accountKey(bank, account);
    if (this.heldAccounts.has(key)) return null;
    this.heldAccounts.add(key);
    const holdId = holdIdFor(this.view.stopPaymentId, this.view.holds.length + 1);
    const hold: HoldView = {
      holdId,
      workflowId: holdWorkflowId(holdId),
      level,
      parentHoldId,
      bank,
      account,
      state: 'submitting',
      requestedFen,
      stoppedFen: 0,
      frozenFen: 0,
      expiresAt: null,
      legalDocRef: null,
      restops: 0,
      renewals: 0,
      stoppedAt: null,
      failure: null,
    };
    this.view.holds.push(hold);
    this.holdsToStart.push(hold);
    this.retotal();
    return hold;
  }

  /** The holds found since the last call, for the main loop to start. */
  takeHoldsToStart(): HoldView[] {
    return this.holdsToStart.splice(0);
  }

  get hasHoldsToStart(): boolean {
    return this.holdsToStart.length > 0;
  }

  get allHoldsFinal(): boolean {
    return this.view.holds.every((h) => isFinalHold(h.state));
  }

  holdInput(hold: HoldView): HoldWorkflowInput {
    return {
      stopPaymentId: this.view.stopPaymentId,
      caseWorkflowId: this.view.workflowId,
      hold,
      policy: this.input.policy,
    };
  }

  /** A hold's result: its final state, in case its last `holdChanged` did not arrive. */
  holdFinished(final: HoldView) {
    const index = this.view.holds.findIndex((h) => h.holdId === final.holdId);
    if (index >= 0 && !isFinalHold(this.view.holds[index]!.state)) {
      this.view.holds[index] = final;
      this.retotal();
      this.recorder.touch();
    }
  }

  // --- filing and closing ---------------------------------------------------------------------

  file() {
    const { view, input, recorder } = this;
    const { filing, policy, stopPaymentId } = input;
    recorder.record('filed', input.createdBy, {
      transfers: filing.transfers.length,
      requestedFen: view.requestedFen,
      reportedAt: filing.reportedAt,
    });
    if (view.requestedFen >= policy.majorCaseThresholdFen) {
      view.major = true;
      recorder.record('major_case', null, {
        requestedFen: view.requestedFen,
        thresholdFen: policy.majorCaseThresholdFen,
        notified: 'criminal_squad',
      });
      recorder.notify({
        recipientRole: 'criminal_squad',
        kind: 'major_case',
        message: `Major stop-payment case ${stopPaymentId}: ${yuan(view.requestedFen)} CNY reported (threshold ${yuan(policy.majorCaseThresholdFen)} CNY).`,
        payload: { stopPaymentId, requestedFen: view.requestedFen },
      });
    }
    this.deadline = startDeadline('approval', policy.approvalSla, Date.now());
    this.showDeadline();
  }

  /** Every hold is final. */
  close() {
    const { view } = this;
    view.state = 'closed';
    view.closedAt = iso(Date.now());
    this.recorder.record('closed', null, {
      requestedFen: view.requestedFen,
      stoppedFen: view.stoppedFen,
      frozenFen: view.frozenFen,
    });
  }

  // --- decisions (Updates): validator, then the decision --------------------------------------

  private requireState(...states: StopPaymentView['state'][]) {
    requireState(`Stop-payment ${this.view.stopPaymentId}`, this.view.state, states);
  }

  validateApprove({ actor }: ApproveDecision) {
    this.requireState('pending_approval');
    if (actor.userId === this.input.createdBy.userId)
      throw refuse(
        REFUSAL.separationOfDuties,
        `You filed stop-payment ${this.view.stopPaymentId}; another approver must approve it.`,
      );
  }

  approve({ actor, note }: ApproveDecision): StopPaymentView {
    const { view } = this;
    this.raiseDue();
    view.state = 'active';
    view.approvedBy = { userId: actor.userId, name: actor.name };
    view.approvedAt = iso(Date.now());
    this.deadline = null;
    this.showDeadline();
    this.recorder.record('approved', actor, { note: note ?? null });
    // Several transfers into one account make one hold for their sum.
    const perAccount = new Map<string, { bank: string; account: string; amountFen: number }>();
    for (const t of this.input.filing.transfers) {
      const key = accountKey(t.bank, t.account);
      const entry = perAccount.get(key) ?? { bank: t.bank, account: t.account, amountFen: 0 };
      entry.amountFen += t.amountFen;
      perAccount.set(key, entry);
    }
    for (const t of perAccount.values()) this.addHold(t.bank, t.account, t.amountFen, 1, null);
    this.recorder.record('holds_started', null, { holds: view.holds.map((h) => h.holdId) });
    return this.answer();
  }

  validateReject({ reason }: RejectDecision) {
    this.requireState('pending_approval');
    if (!reason?.trim()) throw refuse(REFUSAL.invalidTransition, 'A rejection needs a reason.');
  }

  reject({ actor, reason }: RejectDecision): StopPaymentView {
    const { view } = this;
    this.raiseDue();
    view.state = 'rejected';
    view.rejectedBy = { userId: actor.userId, name: actor.name };
    view.rejectionReason = reason;
    view.closedAt = iso(Date.now());
    this.deadline = null;
    this.showDeadline();
    this.recorder.record('rejected', actor, { reason });
    return this.answer();
  }

  validateReleaseCase({ reason, holdIds }: ReleaseCaseDecision) {
    const { view } = this;
    this.requireState('active');
    if (!reason?.trim()) throw refuse(REFUSAL.invalidTransition, 'A release needs a reason.');
    for (const id of holdIds ?? []) {
      const hold = view.holds.find((h) => h.holdId === id);
      if (!hold) throw refuse(REFUSAL.invalidTransition, `Stop-payment ${view.stopPaymentId} has no hold ${id}.`);
      if (!releasable(hold))
        throw refuse(
          REFUSAL.invalidTransition,
          `Hold ${id} is ${hold.state}; only stopped or frozen holds can be released.`,
        );
    }
    if (!view.holds.some(releasable))
      throw refuse(
        REFUSAL.invalidTransition,
        `Stop-payment ${view.stopPaymentId} holds nothing that could be released.`,
      );
  }

  /** Orders the holds released and answers once they are (or ANSWER_WAIT passed). */
  async releaseCase({ actor, reason, holdIds }: ReleaseCaseDecision): Promise<StopPaymentView> {
    const { view } = this;
    const targets = view.holds.filter((h) => (holdIds ? holdIds.includes(h.holdId) : releasable(h)) && releasable(h));
    this.recorder.record('release_ordered', actor, { reason, holds: targets.map((h) => h.holdId) });
    for (const hold of targets)
      await getExternalWorkflowHandle(hold.workflowId).signal(releaseHoldSignal, { actor, reason });
    const ids = new Set(targets.map((h) => h.holdId));
    await condition(() => view.holds.every((h) => !ids.has(h.holdId) || isFinalHold(h.state)), ANSWER_WAIT);
    return this.answer();
  }

  // --- signals from the holds -----------------------------------------------------------------

  holdChanged(hold: HoldView) {
    const { view } = this;
    const index = view.holds.findIndex((h) => h.holdId === hold.holdId);
    if (index < 0) return;
    const before = view.holds[index]!;
    view.holds[index] = hold;
    if (hold.stoppedAt && !view.firstStopAt) view.firstStopAt = hold.stoppedAt;
    this.retotal();
    if (before.state !== hold.state || before.expiresAt !== hold.expiresAt || before.stoppedFen !== hold.stoppedFen)
      this.recorder.record('hold_changed', null, {
        holdId: hold.holdId,
        bank: hold.bank,
        account: hold.account,
        state: hold.state,
        stoppedFen: hold.stoppedFen,
        frozenFen: hold.frozenFen,
        expiresAt: hold.expiresAt,
      });
    else this.recorder.touch();
  }

  onwardFound({ parentHoldId, level, transfers, beyondLimit = 0 }: OnwardFound) {
    const { policy } = this.input;
    if (level > policy.maxOnwardLevels) return;
    // A case started before the bound has none.
    const maxHolds = policy.maxHoldsPerCase ?? Infinity;
    const notHeld: OnwardTransfer[] = [];
    for (const onward of transfers) {
      if (this.view.holds.length >= maxHolds && !this.heldAccounts.has(accountKey(onward.bank, onward.account))) {
        notHeld.push(onward);
        continue;
      }
      const hold = this.addHold(onward.bank, onward.account, onward.amountFen, level, parentHoldId);
      if (hold)
        this.recorder.record('onward_found', null, {
          holdId: hold.holdId,
          parentHoldId,
          level,
          bank: onward.bank,
          account: onward.account,
          amountFen: onward.amountFen,
        });
    }
    if (notHeld.length > 0 || beyondLimit > 0) this.holdsLimited(parentHoldId, level, notHeld, beyondLimit);
  }

  /** Accounts the policy's bounds leave unheld: on the record, and the supervisor told, so that someone holds them by hand. */
  private holdsLimited(parentHoldId: string, level: number, notHeld: OnwardTransfer[], beyondLimit: number) {
    const { view, input } = this;
    const { maxHoldsPerCase, maxOnwardAccountsPerHold } = input.policy;
    const count = notHeld.length + beyondLimit;
    const limits = { maxHoldsPerCase, maxOnwardAccountsPerHold };
    this.recorder.record('holds_limited', null, {
      parentHoldId,
      level,
      notHeld: count,
      accounts: notHeld.map(({ bank, account, amountFen }) => ({ bank, account, amountFen })),
      ...limits,
    });
    this.recorder.notify({
      recipientRole: 'supervisor',
      kind: 'holds_limited',
      message: `Stop-payment ${view.stopPaymentId}: ${count} onward account(s) found through hold ${parentHoldId} were not held (limits: ${maxHoldsPerCase} holds per case, ${maxOnwardAccountsPerHold} onward accounts per bank answer). Hold them by hand.`,
      payload: { stopPaymentId: view.stopPaymentId, parentHoldId, level, notHeld: count, ...limits },
    });
  }
}

export async function StopPaymentWorkflow(input: StopPaymentWorkflowInput): Promise<StopPaymentResult> {
  const { filing, stopPaymentId } = input;
  const stopPayment = new StopPaymentCase(input);
  const { recorder } = stopPayment;

  // A continued run takes the case as it was: filed, approved, its holds running.
  if (!input.resume) stopPayment.file();

  setHandler(approveUpdate, (decision) => stopPayment.approve(decision), {
    validator: (decision) => stopPayment.validateApprove(decision),
  });
  setHandler(rejectUpdate, (decision) => stopPayment.reject(decision), {
    validator: (decision) => stopPayment.validateReject(decision),
  });
  setHandler(releaseCaseUpdate, (decision) => stopPayment.releaseCase(decision), {
    validator: (decision) => stopPayment.validateReleaseCase(decision),
  });
  setHandler(holdChangedSignal, (hold) => stopPayment.holdChanged(hold));
  setHandler(onwardFoundSignal, (found) => stopPayment.onwardFound(found));
  setHandler(stopPaymentStateQuery, () => stopPayment.snapshot());

  if (filing.alertId && !input.resume) {
    try {
      await getExternalWorkflowHandle(alertWorkflowId(filing.alertId)).signal(linkStopPaymentSignal, { stopPaymentId });
    } catch {
      // The alert is closed (or never reached us): link it in the read model instead.
      await linkAlertToStopPayment({ alertId: filing.alertId, stopPaymentId });
    }
  }

  // Waiting for approval: escalate, never approve on its own.
  while (stopPayment.pendingApproval) {
    const wakeAt = stopPayment.nextWake();
    const decided = await condition(
      () => !stopPayment.pendingApproval,
      wakeAt === null ? undefined : Math.max(wakeAt - Date.now(), 1),
    );
    if (decided) continue;
    stopPayment.approvalOverdue();
  }

  // Holds: start each one the case finds, close when all are final.
  if (stopPayment.active) {
    // Holds signal their case by workflow ID, so a fresh run keeps following those its earlier runs started.
    const mayContinue = patched(CASE_CONTINUES_AS_NEW);
    const continueDue = () => mayContinue && workflowInfo().continueAsNewSuggested;
    for (;;) {
      await condition(() => stopPayment.hasHoldsToStart || stopPayment.allHoldsFinal || continueDue());
      const holds = stopPayment.takeHoldsToStart();
      for (const hold of holds) {
        const child = await startChild(HoldWorkflow, {
          workflowId: hold.workflowId,
          args: [stopPayment.holdInput(hold)],
          // The case closes as soon as every hold has reported a final state, while a hold may still be
          // projecting that state: closing must not terminate it (the default), or its read-model row
          // keeps the state before (a released hold still shown as stopped).
          ...(patched(HOLDS_OUTLIVE_CASE) ? { parentClosePolicy: 'ABANDON' as const } : {}),
        });
        // Belt and braces: a hold's final answer also arrives as its result.
        void child.result().then(
          (final) => stopPayment.holdFinished(final),
          () => {},
        );
      }
      if (holds.length > 0) continue;
      if (stopPayment.allHoldsFinal) break;
      // Only between decisions, with every step projected, and never with a hold still to start.
      await condition(allHandlersFinished);
      await recorder.flush();
      if (!stopPayment.hasHoldsToStart && !stopPayment.allHoldsFinal)
        return continueAsNew<typeof StopPaymentWorkflow>(stopPayment.continuation());
    }
    stopPayment.close();
  }

  await condition(allHandlersFinished);
  await recorder.flush();
  return stopPayment.result();
}
