/**
 * HoldWorkflow (DESIGN.md §5): one receiving account held for a stop-payment case. Stops at the bank
 * (retried, one instruction ID per instruction), reports onward transfers to its case, reminds before
 * a stop lapses, freezes, renews (continuing as new so a years-long freeze keeps a short history)
 * and releases. Every change is told to the case and projected into the read model.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  type ExternalWorkflowHandle,
} from '@temporalio/workflow';
import type { BankActivities } from '../activities/bank.js';
import type { StopPaymentRecordActivities } from '../activities/read-model.js';
import type { BankActionAnswer, StopAnswer } from '../domain/bank.js';
import type { StopPaymentPolicy } from '../domain/policy.js';
import type { HoldStepKind } from '../domain/steps.js';
import { isFinalHold, type HoldView } from '../domain/stop-payment.js';
import {
  freezeUpdate,
  holdChangedSignal,
  holdStateQuery,
  onwardFoundSignal,
  REFUSAL,
  releaseHoldSignal,
  renewUpdate,
  restopUpdate,
  type FreezeDecision,
  type OnwardFound,
  type ReleaseHoldOrder,
  type RestopDecision,
} from './messages.js';
import { createRecorder, type Recorder } from './recorder.js';
import { ANSWER_WAIT, iso, PROJECTION_OPTIONS, refuse, requireState } from './shared.js';

export interface HoldWorkflowInput {
  stopPaymentId: string;
  caseWorkflowId: string;
  hold: HoldView;
  policy: StopPaymentPolicy;
  /** Carried across continue-as-new after a renewal. */
  resume?: { seq: number; remindedFor: string | null };
}

const bank = proxyActivities<BankActivities>({
  startToCloseTimeout: '30s',
  // Ride out gateway outages: the instruction ID makes every retry the same instruction.
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    nonRetryableErrorTypes: ['bank_rejected', 'bank_bad_answer'],
  },
});
const { recordHoldEvents } = proxyActivities<StopPaymentRecordActivities>(PROJECTION_OPTIONS);

type Action = { kind: 'restop'; decision: RestopDecision } | { kind: 'freeze' | 'renew'; decision: FreezeDecision };
type Refusal = { refused: string };
/** The hold's state once the bank answered the first stop (also the step recorded then). */
type StopOutcome = 'failed' | 'empty' | 'stopped';

/** A bank call; a refusal the bank will not change its mind on comes back as a message instead of a throw. */
async function atBank<T>(call: () => Promise<T>): Promise<T | Refusal> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure)
      return { refused: error.cause.message };
    throw error;
  }
}

/** One held account: its view, the decision waiting for the bank, a method per decision. HoldWorkflow wires it up. */
class Hold {
  readonly view: HoldView;
  readonly recorder: Recorder<HoldStepKind>;
  private readonly input: HoldWorkflowInput;
  private readonly policy: StopPaymentPolicy;
  private readonly caseHandle: ExternalWorkflowHandle;
  private pendingAction: Action | null = null;
  private pendingRelease: ReleaseHoldOrder | null = null;
  private actionsDone = 0;
  /** The expiry a reminder was already sent for. */
  private remindedFor: string | null;
  private renewed = false;

  constructor(input: HoldWorkflowInput) {
    const { stopPaymentId } = input;
    this.input = input;
    this.policy = input.policy;
    this.view = { ...input.hold };
    this.recorder = createRecorder<HoldView, HoldStepKind>({
      snapshot: () => this.snapshot(),
      write: (batch) => recordHoldEvents({ ...batch, stopPaymentId }),
      startSeq: input.resume?.seq,
    });
    this.caseHandle = getExternalWorkflowHandle(input.caseWorkflowId);
    this.remindedFor = input.resume?.remindedFor ?? null;
  }

  snapshot(): HoldView {
    return { ...this.view };
  }

  /** Tells the case what this hold is now. */
  tellCase(): Promise<void> {
    return this.caseHandle.signal(holdChangedSignal, this.snapshot());
  }

  instruction(suffix: string) {
    return { instructionId: `${this.view.holdId}:${suffix}`, bank: this.view.bank, account: this.view.account };
  }

  /** The main loop runs until the hold is final, or renewed (then it continues as new). */
  get waiting(): boolean {
    return !isFinalHold(this.view.state) && !this.renewed;
  }

  get action(): Action | null {
    return this.pendingAction;
  }

  get releaseOrder(): ReleaseHoldOrder | null {
    return this.pendingRelease;
  }

  // --- the first stop -------------------------------------------------------------------------

  requestStop() {
    const { view } = this;
    this.recorder.record('stop_requested', null, {
      bank: view.bank,
      account: view.account,
      requestedFen: view.requestedFen,
      level: view.level,
    });
  }

  /** The bank's answer to the first stop: the state it leaves, and the onward transfers to report to the case. */
  stopAnswered(answer: StopAnswer | Refusal): { outcome: StopOutcome; onward: OnwardFound | null } {
    const { view, policy } = this;
    if ('refused' in answer) {
      view.state = 'failed';
      view.failure = answer.refused;
      this.recorder.record('bank_refused', null, { instruction: 'stop', reason: answer.refused });
      return { outcome: 'failed', onward: null };
    }
    this.recorder.record('bank_answered', null, {
      instruction: 'stop',
      status: answer.status,
      stoppedFen: answer.stoppedFen,
      onward: answer.onward.length,
    });
    const outcome: StopOutcome =
      answer.status === 'not_found' ? 'failed' : answer.status === 'empty' ? 'empty' : 'stopped';
    view.state = outcome;
    if (outcome === 'failed') {
      view.failure = 'the bank does not know this account';
    } else if (outcome === 'stopped') {
      view.stoppedFen = answer.stoppedFen;
      view.stoppedAt = iso(Date.now());
      view.expiresAt = iso(Date.now() + policy.stopValidity);
    }
    const onward = answer.onward.length > 0 && view.level < policy.maxOnwardLevels;
    // One bank answer may name any number of accounts: the case hears of at most the policy's bound, and how many more.
    const bound = policy.maxOnwardAccountsPerHold ?? answer.onward.length;
    return {
      outcome,
      onward: onward
        ? {
            parentHoldId: view.holdId,
            level: view.level + 1,
            transfers: answer.onward.slice(0, bound),
            ...(answer.onward.length > bound ? { beyondLimit: answer.onward.length - bound } : {}),
          }
        : null,
    };
  }

  reportOnward(onward: OnwardFound): Promise<void> {
    return this.caseHandle.signal(onwardFoundSignal, onward);
  }

  stopSettled(outcome: StopOutcome) {
    this.recorder.record(outcome, null, { stoppedFen: this.view.stoppedFen, expiresAt: this.view.expiresAt });
  }

  // --- the clock ------------------------------------------------------------------------------

  /** When the main loop must wake on its own: a reminder before the expiry (once per expiry), and the expiry. */
  alarms(): { reminderAt: number | null; expiresAt: number | null } {
    const { view, policy } = this;
    const expiresAt = view.expiresAt ? Date.parse(view.expiresAt) : null;
    const remindBefore = view.state === 'frozen' ? policy.renewalReminderBefore : policy.freezeReminderBefore;
    const reminderAt = expiresAt !== null && this.remindedFor !== view.expiresAt ? expiresAt - remindBefore : null;
    return { reminderAt, expiresAt };
  }

  remind() {
    const { view, recorder } = this;
    const { stopPaymentId } = this.input;
    this.remindedFor = view.expiresAt;
    const what = view.state === 'frozen' ? 'freeze' : 'stop';
    recorder.record('expiry_reminder', null, { expiresAt: view.expiresAt, what });
    const message =
      what === 'stop'
        ? `Stop on ${view.bank} ${view.account} (case ${stopPaymentId}) lapses at ${view.expiresAt}: convert it into a freeze or re-stop it.`
        : `Freeze on ${view.bank} ${view.account} (case ${stopPaymentId}) expires at ${view.expiresAt}: renew it.`;
    for (const recipientRole of ['supervisor', 'senior_approver'] as const)
      recorder.notify({
        recipientRole,
        kind: `${what}_expiring`,
        message,
        payload: { stopPaymentId, holdId: view.holdId, expiresAt: view.expiresAt },
      });
    recorder.touch();
  }

  expire() {
    const { view } = this;
    const { stopPaymentId } = this.input;
    const lapsed = view.state === 'stopped';
    const state = lapsed ? 'lapsed' : 'expired';
    view.state = state;
    this.recorder.record(state, null, { expiredAt: view.expiresAt });
    this.recorder.notify({
      recipientRole: 'supervisor',
      kind: lapsed ? 'stop_lapsed' : 'freeze_expired',
      message: `${lapsed ? 'Stop' : 'Freeze'} on ${view.bank} ${view.account} (case ${stopPaymentId}) ${lapsed ? 'lapsed' : 'expired'} at ${view.expiresAt}; the money is no longer held.`,
      payload: { stopPaymentId, holdId: view.holdId },
    });
  }

  // --- release (a signal from the case) -------------------------------------------------------

  orderRelease(order: ReleaseHoldOrder) {
    if (!isFinalHold(this.view.state) && !this.pendingRelease) this.pendingRelease = order;
  }

  /** The bank's answer to the release; true when the hold is released (the case must be told). */
  releasedAtBank(order: ReleaseHoldOrder, answer: BankActionAnswer | Refusal): boolean {
    if ('refused' in answer) {
      this.recorder.record('bank_refused', order.actor, { instruction: 'release', reason: answer.refused });
      return false;
    }
    this.view.state = 'released';
    this.view.expiresAt = null;
    this.recorder.record('released', order.actor, { reason: order.reason });
    return true;
  }

  releaseDone() {
    this.pendingRelease = null;
  }

  // --- decisions (Updates): queued for the main loop, answered once the bank confirmed -------

  private requireState(...states: HoldView['state'][]) {
    const { view } = this;
    requireState(`Hold ${view.holdId}`, view.state, states);
    if (this.pendingAction)
      throw refuse(
        REFUSAL.invalidTransition,
        `Hold ${view.holdId} is still carrying out a ${this.pendingAction.kind}; try again shortly.`,
      );
  }

  /** Queues the decision for the main loop and answers once the bank has confirmed it (or ANSWER_WAIT passed). */
  private async decide(next: Action): Promise<HoldView> {
    this.pendingAction = next;
    const ticket = this.actionsDone;
    await condition(() => this.actionsDone > ticket, ANSWER_WAIT);
    return this.snapshot();
  }

  validateRestop(_decision: RestopDecision) {
    const { view, policy } = this;
    this.requireState('stopped');
    if (view.restops >= policy.maxRestops)
      throw refuse(
        REFUSAL.invalidTransition,
        `Hold ${view.holdId} was already re-stopped ${view.restops} times; banks accept at most ${policy.maxRestops}. Convert it into a freeze instead.`,
      );
  }

  restop(decision: RestopDecision): Promise<HoldView> {
    return this.decide({ kind: 'restop', decision });
  }

  validateFreeze(_decision: FreezeDecision) {
    this.requireState('stopped');
  }

  freeze(decision: FreezeDecision): Promise<HoldView> {
    return this.decide({ kind: 'freeze', decision });
  }

  validateRenew(_decision: FreezeDecision) {
    this.requireState('frozen');
  }

  renew(decision: FreezeDecision): Promise<HoldView> {
    return this.decide({ kind: 'renew', decision });
  }

  private async carryOutRestop(decision: RestopDecision) {
    const { view, policy, recorder } = this;
    const { actor } = decision;
    const answer = await atBank(() =>
      bank.stopAtBank({ ...this.instruction(`restop-${view.restops + 1}`), amountFen: view.stoppedFen }),
    );
    if ('refused' in answer || answer.status === 'not_found') {
      recorder.record('bank_refused', actor, {
        instruction: 'restop',
        reason: 'refused' in answer ? answer.refused : 'not_found',
      });
      return;
    }
    // The money is already held: a re-stop extends the stop on it, it does not hold more.
    view.restops += 1;
    view.expiresAt = iso(Date.now() + policy.stopValidity);
    recorder.record('restopped', actor, {
      restops: view.restops,
      expiresAt: view.expiresAt,
      note: decision.note ?? null,
    });
    await this.tellCase();
  }

  private async carryOutFreeze(decision: FreezeDecision) {
    const { view, policy, recorder } = this;
    const { actor } = decision;
    view.state = 'freezing';
    view.legalDocRef = decision.legalDocRef;
    recorder.record('freeze_requested', actor, { legalDocRef: decision.legalDocRef, note: decision.note ?? null });
    await this.tellCase();
    const answer = await atBank(() =>
      bank.freezeAtBank({
        ...this.instruction('freeze'),
        amountFen: view.stoppedFen,
        legalDocRef: decision.legalDocRef,
      }),
    );
    if ('refused' in answer || answer.status === 'not_found') {
      view.state = 'stopped';
      recorder.record('bank_refused', actor, {
        instruction: 'freeze',
        reason: 'refused' in answer ? answer.refused : 'not_found',
      });
    } else {
      view.state = 'frozen';
      view.frozenFen = answer.amountFen ?? view.stoppedFen;
      view.expiresAt = iso(Date.now() + policy.freezeValidity);
      recorder.record('frozen', actor, {
        frozenFen: view.frozenFen,
        expiresAt: view.expiresAt,
        legalDocRef: view.legalDocRef,
      });
    }
    await this.tellCase();
  }

  private async carryOutRenew(decision: FreezeDecision) {
    const { view, policy, recorder } = this;
    const { actor } = decision;
    const answer = await atBank(() =>
      bank.renewAtBank({
        ...this.instruction(`renew-${view.renewals + 1}`),
        amountFen: view.frozenFen,
        legalDocRef: decision.legalDocRef,
      }),
    );
    if ('refused' in answer || answer.status === 'not_found') {
      recorder.record('bank_refused', actor, {
        instruction: 'renew',
        reason: 'refused' in answer ? answer.refused : 'not_found',
      });
      return;
    }
    view.renewals += 1;
    view.legalDocRef = decision.legalDocRef;
    view.expiresAt = iso(Date.parse(view.expiresAt!) + policy.freezeValidity);
    recorder.record('renewed', actor, {
      renewals: view.renewals,
      expiresAt: view.expiresAt,
      legalDocRef: view.legalDocRef,
    });
    this.renewed = true;
    await this.tellCase();
  }

  /** Carries out the queued decision at the bank (the main loop calls it, then `actionDone`). */
  carryOut(next: Action): Promise<void> {
    if (next.kind === 'restop') return this.carryOutRestop(next.decision);
    if (next.kind === 'freeze') return this.carryOutFreeze(next.decision);
    return this.carryOutRenew(next.decision);
  }

  actionDone() {
    this.pendingAction = null;
    this.actionsDone++;
  }

  /** A renewed freeze starts a fresh run: a freeze renewed for years keeps a short history. */
  get continuesAsNew(): boolean {
    return this.renewed && !isFinalHold(this.view.state);
  }

  /** The next run's input. */
  continuation(): HoldWorkflowInput {
    return { ...this.input, hold: this.snapshot(), resume: { seq: this.recorder.seq, remindedFor: this.remindedFor } };
  }
}

export async function HoldWorkflow(input: HoldWorkflowInput): Promise<HoldView> {
  const hold = new Hold(input);
  const { recorder, view } = hold;

  setHandler(restopUpdate, (decision) => hold.restop(decision), {
    validator: (decision) => hold.validateRestop(decision),
  });
  setHandler(freezeUpdate, (decision) => hold.freeze(decision), {
    validator: (decision) => hold.validateFreeze(decision),
  });
  setHandler(renewUpdate, (decision) => hold.renew(decision), {
    validator: (decision) => hold.validateRenew(decision),
  });
  setHandler(releaseHoldSignal, (order) => hold.orderRelease(order));
  setHandler(holdStateQuery, () => hold.snapshot());

  // The first stop (a run continued after a renewal has had it).
  if (!input.resume) {
    hold.requestStop();
    const answer = await atBank<StopAnswer>(() =>
      bank.stopAtBank({ ...hold.instruction('stop'), amountFen: view.requestedFen }),
    );
    const { outcome, onward } = hold.stopAnswered(answer);
    if (onward) await hold.reportOnward(onward);
    hold.stopSettled(outcome);
    await hold.tellCase();
  }

  // Waiting on decisions and on the clock.
  while (hold.waiting) {
    const { reminderAt, expiresAt } = hold.alarms();
    const wakeAt = reminderAt ?? expiresAt;
    const woken = await condition(
      () => hold.action !== null || hold.releaseOrder !== null,
      wakeAt === null ? undefined : Math.max(wakeAt - Date.now(), 1),
    );

    const order = hold.releaseOrder;
    const action = hold.action;
    if (order) {
      const answer = await atBank(() =>
        bank.releaseAtBank({ ...hold.instruction('release'), amountFen: view.frozenFen || view.stoppedFen }),
      );
      if (hold.releasedAtBank(order, answer)) await hold.tellCase();
      hold.releaseDone();
    } else if (action) {
      await hold.carryOut(action);
      hold.actionDone();
    } else if (!woken && reminderAt !== null && Date.now() < (expiresAt ?? 0)) {
      hold.remind();
    } else if (!woken && expiresAt !== null && Date.now() >= expiresAt) {
      hold.expire();
      await hold.tellCase();
    }
  }

  await condition(allHandlersFinished);
  await recorder.flush();
  if (hold.continuesAsNew) return continueAsNew<typeof HoldWorkflow>(hold.continuation());
  return hold.snapshot();
}
