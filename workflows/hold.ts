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

} from '@temporalio/workflow';
import type { BankActivities } from '../activities/bank.js';
import type { StopPaymentRecordActivities } from '../activities/stop-payment-record.js';
import type { DecisionActor } from '../domain/alert.js';
import type { StopAnswer } from '../domain/bank.js';
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
  type ReleaseHoldOrder,
  type RestopDecision,
} from './messages.js';
import type { StopPaymentPolicy } from '../domain/policy.js';
import { createRecorder } from './recorder.js';

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
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', nonRetryableErrorTypes: ['bank_rejected', 'bank_bad_answer'] },
});
const { recordHoldEvents } = proxyActivities<StopPaymentRecordActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
});

type Action = { kind: 'restop'; decision: RestopDecision } | { kind: 'freeze' | 'renew'; decision: FreezeDecision };

/** How long a decision's answer waits for the bank before it returns the state as it is (e.g. `freezing`). */
const ANSWER_WAIT = '20s';
const refuse = (type: string, message: string) => ApplicationFailure.create({ type, message, nonRetryable: true });
const iso = (ms: number) => new Date(ms).toISOString();

export async function HoldWorkflow(input: HoldWorkflowInput): Promise<HoldView> {
  const { policy, stopPaymentId } = input;
  const view: HoldView = { ...input.hold };
  const snapshot = (): HoldView => ({ ...view });
  const recorder = createRecorder({
    timeline: [],
    snapshot,
    write: (batch) => recordHoldEvents({ ...batch, stopPaymentId }),
    startSeq: input.resume?.seq,
  });
  const record = recorder.record;
  const caseHandle = getExternalWorkflowHandle(input.caseWorkflowId);
  const tellCase = () => caseHandle.signal(holdChangedSignal, snapshot());

  let action: Action | null = null;
  let releaseOrder: ReleaseHoldOrder | null = null;
  let actionsDone = 0;
  /** The expiry a reminder was already sent for. */
  let remindedFor: string | null = input.resume?.remindedFor ?? null;
  let renewed = false;

  const requireState = (...states: HoldView['state'][]) => {
    if (!states.includes(view.state))
      throw refuse(REFUSAL.invalidTransition, `Hold ${view.holdId} is ${view.state}; this needs it to be ${states.join(' or ')}.`);
    if (action) throw refuse(REFUSAL.invalidTransition, `Hold ${view.holdId} is still carrying out a ${action.kind}; try again shortly.`);
  };

  /** Queues the decision for the main loop and answers once the bank has confirmed it (or ANSWER_WAIT passed). */
  async function decide(next: Action): Promise<HoldView> {
    action = next;
    const ticket = actionsDone;
    await condition(() => actionsDone > ticket, ANSWER_WAIT);
    return snapshot();
  }

  setHandler(restopUpdate, (decision) => decide({ kind: 'restop', decision }), {
    validator: (_decision) => {
      requireState('stopped');
      if (view.restops >= policy.maxRestops)
        throw refuse(REFUSAL.invalidTransition, `Hold ${view.holdId} was already re-stopped ${view.restops} times; banks accept at most ${policy.maxRestops}. Convert it into a freeze instead.`);
    },
  });
  setHandler(freezeUpdate, (decision) => decide({ kind: 'freeze', decision }), { validator: (_decision) => requireState('stopped') });
  setHandler(renewUpdate, (decision) => decide({ kind: 'renew', decision }), { validator: (_decision) => requireState('frozen') });
  setHandler(releaseHoldSignal, (order) => {
    if (!isFinalHold(view.state) && !releaseOrder) releaseOrder = order;
  });
  setHandler(holdStateQuery, snapshot);

  /** A bank call; a refusal the bank will not change its mind on comes back as a message instead of a throw. */
  async function atBank<T>(call: () => Promise<T>): Promise<T | { refused: string }> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) return { refused: error.cause.message };
      throw error;
    }
  }
  const instruction = (suffix: string) => ({ instructionId: `${view.holdId}:${suffix}`, bank: view.bank, account: view.account });

  // --- the first stop ------------------------------------------------------------------------
  if (!input.resume) {
    record('stop_requested', null, { bank: view.bank, account: view.account, requestedFen: view.requestedFen, level: view.level });
    const answer = await atBank<StopAnswer>(() => bank.stopAtBank({ ...instruction('stop'), amountFen: view.requestedFen }));
    if ('refused' in answer) {
      view.state = 'failed';
      view.failure = answer.refused;
      record('bank_refused', null, { instruction: 'stop', reason: answer.refused });
    } else {
      record('bank_answered', null, { instruction: 'stop', status: answer.status, stoppedFen: answer.stoppedFen, onward: answer.onward.length });
      if (answer.status === 'not_found') {
        view.state = 'failed';
        view.failure = 'the bank does not know this account';
      } else if (answer.status === 'empty') {
        view.state = 'empty';
      } else {
        view.state = 'stopped';
        view.stoppedFen = answer.stoppedFen;
        view.stoppedAt = iso(Date.now());
        view.expiresAt = iso(Date.now() + policy.stopValidity);
      }
      if (answer.onward.length > 0 && view.level < policy.maxOnwardLevels)
        await caseHandle.signal(onwardFoundSignal, { parentHoldId: view.holdId, level: view.level + 1, transfers: answer.onward });
    }
    record(view.state, null, { stoppedFen: view.stoppedFen, expiresAt: view.expiresAt });
    await tellCase();
  }

  // --- waiting on decisions and on the clock -------------------------------------------------
  while (!isFinalHold(view.state) && !renewed) {
    const expiresAt = view.expiresAt ? Date.parse(view.expiresAt) : null;
    const remindBefore = view.state === 'frozen' ? policy.renewalReminderBefore : policy.freezeReminderBefore;
    const reminderAt = expiresAt !== null && remindedFor !== view.expiresAt ? expiresAt - remindBefore : null;
    const wakeAt = reminderAt ?? expiresAt;
    const woken = await condition(() => action !== null || releaseOrder !== null, wakeAt === null ? undefined : Math.max(wakeAt - Date.now(), 1));

    if (releaseOrder) {
      const order: ReleaseHoldOrder = releaseOrder;
      const answer = await atBank(() => bank.releaseAtBank({ ...instruction('release'), amountFen: view.frozenFen || view.stoppedFen }));
      if ('refused' in answer) {
        record('bank_refused', order.actor, { instruction: 'release', reason: answer.refused });
      } else {
        view.state = 'released';
        view.expiresAt = null;
        record('released', order.actor, { reason: order.reason });
        await tellCase();
      }
      releaseOrder = null;
    } else if (action) {
      await carryOut(action);
      action = null;
      actionsDone++;
    } else if (!woken && reminderAt !== null && Date.now() < (expiresAt ?? 0)) {
      remindedFor = view.expiresAt;
      const what = view.state === 'frozen' ? 'freeze' : 'stop';
      record('expiry_reminder', null, { expiresAt: view.expiresAt, what });
      const message =
        what === 'stop'
          ? `Stop on ${view.bank} ${view.account} (case ${stopPaymentId}) lapses at ${view.expiresAt}: convert it into a freeze or re-stop it.`
          : `Freeze on ${view.bank} ${view.account} (case ${stopPaymentId}) expires at ${view.expiresAt}: renew it.`;
      for (const recipientRole of ['supervisor', 'senior_approver'] as const)
        recorder.notify({ recipientRole, kind: `${what}_expiring`, message, payload: { stopPaymentId, holdId: view.holdId, expiresAt: view.expiresAt } });
      recorder.touch();
    } else if (!woken && expiresAt !== null && Date.now() >= expiresAt) {
      const lapsed = view.state === 'stopped';
      view.state = lapsed ? 'lapsed' : 'expired';
      record(view.state, null, { expiredAt: view.expiresAt });
      recorder.notify({
        recipientRole: 'supervisor',
        kind: lapsed ? 'stop_lapsed' : 'freeze_expired',
        message: `${lapsed ? 'Stop' : 'Freeze'} on ${view.bank} ${view.account} (case ${stopPaymentId}) ${lapsed ? 'lapsed' : 'expired'} at ${view.expiresAt}; the money is no longer held.`,
        payload: { stopPaymentId, holdId: view.holdId },
      });
      await tellCase();
    }
  }

  async function carryOut(next: Action) {
    const actor: DecisionActor = next.decision.actor;
    if (next.kind === 'restop') {
      const answer = await atBank(() => bank.stopAtBank({ ...instruction(`restop-${view.restops + 1}`), amountFen: view.stoppedFen }));
      if ('refused' in answer || answer.status === 'not_found') {
        record('bank_refused', actor, { instruction: 'restop', reason: 'refused' in answer ? answer.refused : 'not_found' });
        return;
      }
      // The money is already held: a re-stop extends the stop on it, it does not hold more.
      view.restops += 1;
      view.expiresAt = iso(Date.now() + policy.stopValidity);
      record('restopped', actor, { restops: view.restops, expiresAt: view.expiresAt, note: next.decision.note ?? null });
    } else if (next.kind === 'freeze') {
      view.state = 'freezing';
      view.legalDocRef = next.decision.legalDocRef;
      record('freeze_requested', actor, { legalDocRef: next.decision.legalDocRef, note: next.decision.note ?? null });
      await tellCase();
      const answer = await atBank(() => bank.freezeAtBank({ ...instruction('freeze'), amountFen: view.stoppedFen, legalDocRef: next.decision.legalDocRef }));
      if ('refused' in answer || answer.status === 'not_found') {
        view.state = 'stopped';
        record('bank_refused', actor, { instruction: 'freeze', reason: 'refused' in answer ? answer.refused : 'not_found' });
      } else {
        view.state = 'frozen';
        view.frozenFen = answer.amountFen ?? view.stoppedFen;
        view.expiresAt = iso(Date.now() + policy.freezeValidity);
        record('frozen', actor, { frozenFen: view.frozenFen, expiresAt: view.expiresAt, legalDocRef: view.legalDocRef });
      }
    } else {
      const answer = await atBank(() =>
        bank.renewAtBank({ ...instruction(`renew-${view.renewals + 1}`), amountFen: view.frozenFen, legalDocRef: next.decision.legalDocRef }),
      );
      if ('refused' in answer || answer.status === 'not_found') {
        record('bank_refused', actor, { instruction: 'renew', reason: 'refused' in answer ? answer.refused : 'not_found' });
        return;
      }
      view.renewals += 1;
      view.legalDocRef = next.decision.legalDocRef;
      view.expiresAt = iso(Date.parse(view.expiresAt!) + policy.freezeValidity);
      record('renewed', actor, { renewals: view.renewals, expiresAt: view.expiresAt, legalDocRef: view.legalDocRef });
      renewed = true;
    }
    await tellCase();
  }

  await condition(allHandlersFinished);
  await recorder.flush();
  if (renewed && !isFinalHold(view.state)) {
    // A renewed freeze starts a fresh run: a freeze renewed for years keeps a short history.
    return continueAsNew<typeof HoldWorkflow>({
      ...input,
      hold: snapshot(),
      resume: { seq: recorder.seq, remindedFor },
    });
  }
  return snapshot();
}
