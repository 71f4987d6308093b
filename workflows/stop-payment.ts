/**
 * StopPaymentWorkflow (DESIGN.md §5): one emergency stop-payment case, from the 110 desk's filing
 * through approval to a HoldWorkflow child per account the money reached, closing when every hold is
 * final. The approval deadline escalates and never approves by itself.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { StopPaymentRecordActivities } from '../activities/stop-payment-record.js';
import { alertWorkflowId, type DecisionActor } from '../domain/alert.js';
import {
  holdIdFor,
  holdWorkflowId,
  isFinalHold,
  type HoldView,
  type StopPaymentInput,
  type StopPaymentView,
} from '../domain/stop-payment.js';
import { escalationRecipient, nextEscalationAt, raiseDueEscalations, startDeadline, type Deadline } from './escalation.js';
import { HoldWorkflow } from './hold.js';
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
} from './messages.js';
import type { StopPaymentPolicy } from '../domain/policy.js';
import { createRecorder } from './recorder.js';

export interface StopPaymentWorkflowInput {
  stopPaymentId: string;
  filing: StopPaymentInput;
  createdBy: DecisionActor;
  createdAt: string;
  policy: StopPaymentPolicy;
}

const { recordStopPaymentEvents, linkAlertToStopPayment } = proxyActivities<StopPaymentRecordActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
});

const ANSWER_WAIT = '20s';
/** Patch: holds started from here on are abandoned, not terminated, when their case closes. */
const HOLDS_OUTLIVE_CASE = 'holds-outlive-case-close';
const refuse = (type: string, message: string) => ApplicationFailure.create({ type, message, nonRetryable: true });
const iso = (ms: number) => new Date(ms).toISOString();
const accountKey = (bank: string, account: string) => `${bank}\u0000${account}`;

export async function StopPaymentWorkflow(input: StopPaymentWorkflowInput): Promise<StopPaymentView> {
  const { filing, policy, stopPaymentId } = input;
  const view: StopPaymentView = {
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
    timeline: [],
  };
  const snapshot = (): StopPaymentView => ({ ...view, holds: view.holds.map((h) => ({ ...h })), timeline: [...view.timeline] });
  const recorder = createRecorder({ timeline: view.timeline, snapshot, write: recordStopPaymentEvents });
  const record = recorder.record;

  let deadline: Deadline<'approval'> | null = null;
  const heldAccounts = new Set<string>();
  const holdsToStart: HoldView[] = [];

  function showDeadline() {
    view.deadline = deadline ? iso(deadline.dueAt) : null;
    view.escalationLevel = deadline?.level ?? 0;
  }

  /** Totals are always the sum over holds (once there are holds). */
  function retotal() {
    if (view.holds.length === 0) return;
    view.requestedFen = view.holds.reduce((sum, h) => sum + h.requestedFen, 0);
    view.stoppedFen = view.holds.reduce((sum, h) => sum + h.stoppedFen, 0);
    view.frozenFen = view.holds.reduce((sum, h) => sum + h.frozenFen, 0);
  }

  function addHold(bank: string, account: string, requestedFen: number, level: number, parentHoldId: string | null): HoldView | null {
    const key = accountKey(bank, account);
    if (heldAccounts.has(key)) return null;
    heldAccounts.add(key);
    const holdId = holdIdFor(stopPaymentId, view.holds.length + 1);
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
    view.holds.push(hold);
    holdsToStart.push(hold);
    retotal();
    return hold;
  }

  // --- filing ----------------------------------------------------------------------------------
  record('filed', input.createdBy, { transfers: filing.transfers.length, requestedFen: view.requestedFen, reportedAt: filing.reportedAt });
  if (view.requestedFen >= policy.majorCaseThresholdFen) {
    view.major = true;
    record('major_case', null, { requestedFen: view.requestedFen, thresholdFen: policy.majorCaseThresholdFen, notified: 'criminal_squad' });
    recorder.notify({
      recipientRole: 'criminal_squad',
      kind: 'major_case',
      message: `Major stop-payment case ${stopPaymentId}: ${(view.requestedFen / 100).toFixed(2)} CNY reported (threshold ${(policy.majorCaseThresholdFen / 100).toFixed(2)} CNY).`,
      payload: { stopPaymentId, requestedFen: view.requestedFen },
    });
  }
  deadline = startDeadline('approval', policy.approvalSla, Date.now());
  showDeadline();

  function escalateApproval(missed: Deadline<'approval'>) {
    missed.level += 1;
    showDeadline();
    const recipientRole = escalationRecipient(missed.level);
    record('deadline_missed', null, { deadline: 'approval', level: missed.level, dueAt: iso(missed.dueAt), notified: recipientRole });
    recorder.notify({
      recipientRole,
      kind: 'approval_overdue',
      message: `Stop-payment ${stopPaymentId} (${(view.requestedFen / 100).toFixed(2)} CNY) has waited for approval since ${view.createdAt}: escalation level ${missed.level}.`,
      payload: { stopPaymentId, level: missed.level },
    });
  }

  /** Before a decision changes anything: the escalations the approval timer would already have raised. */
  function raiseDue() {
    raiseDueEscalations(deadline, Date.now(), escalateApproval);
  }

  // --- decisions -------------------------------------------------------------------------------
  const requireState = (...states: StopPaymentView['state'][]) => {
    if (!states.includes(view.state))
      throw refuse(REFUSAL.invalidTransition, `Stop-payment ${stopPaymentId} is ${view.state}; this needs it to be ${states.join(' or ')}.`);
  };

  setHandler(
    approveUpdate,
    ({ actor, note }) => {
      raiseDue();
      view.state = 'active';
      view.approvedBy = { userId: actor.userId, name: actor.name };
      view.approvedAt = iso(Date.now());
      deadline = null;
      showDeadline();
      record('approved', actor, { note: note ?? null });
      // Several transfers into one account make one hold for their sum.
      const perAccount = new Map<string, { bank: string; account: string; amountFen: number }>();
      for (const t of filing.transfers) {
        const key = accountKey(t.bank, t.account);
        const entry = perAccount.get(key) ?? { bank: t.bank, account: t.account, amountFen: 0 };
        entry.amountFen += t.amountFen;
        perAccount.set(key, entry);
      }
      for (const t of perAccount.values()) addHold(t.bank, t.account, t.amountFen, 1, null);
      record('holds_started', null, { holds: view.holds.map((h) => h.holdId) });
      return snapshot();
    },
    {
      validator: ({ actor }) => {
        requireState('pending_approval');
        if (actor.userId === input.createdBy.userId)
          throw refuse(REFUSAL.separationOfDuties, `You filed stop-payment ${stopPaymentId}; another approver must approve it.`);
      },
    },
  );

  setHandler(
    rejectUpdate,
    ({ actor, reason }) => {
      raiseDue();
      view.state = 'rejected';
      view.rejectedBy = { userId: actor.userId, name: actor.name };
      view.rejectionReason = reason;
      view.closedAt = iso(Date.now());
      deadline = null;
      showDeadline();
      record('rejected', actor, { reason });
      return snapshot();
    },
    {
      validator: ({ reason }) => {
        requireState('pending_approval');
        if (!reason?.trim()) throw refuse(REFUSAL.invalidTransition, 'A rejection needs a reason.');
      },
    },
  );

  const releasable = (hold: HoldView) => hold.state === 'stopped' || hold.state === 'frozen' || hold.state === 'freezing';

  setHandler(
    releaseCaseUpdate,
    async ({ actor, reason, holdIds }) => {
      const targets = view.holds.filter((h) => (holdIds ? holdIds.includes(h.holdId) : releasable(h)) && releasable(h));
      record('release_ordered', actor, { reason, holds: targets.map((h) => h.holdId) });
      for (const hold of targets) await getExternalWorkflowHandle(hold.workflowId).signal(releaseHoldSignal, { actor, reason });
      const ids = new Set(targets.map((h) => h.holdId));
      await condition(() => view.holds.every((h) => !ids.has(h.holdId) || isFinalHold(h.state)), ANSWER_WAIT);
      return snapshot();
    },
    {
      validator: ({ reason, holdIds }) => {
        requireState('active');
        if (!reason?.trim()) throw refuse(REFUSAL.invalidTransition, 'A release needs a reason.');
        for (const id of holdIds ?? []) {
          const hold = view.holds.find((h) => h.holdId === id);
          if (!hold) throw refuse(REFUSAL.invalidTransition, `Stop-payment ${stopPaymentId} has no hold ${id}.`);
          if (!releasable(hold)) throw refuse(REFUSAL.invalidTransition, `Hold ${id} is ${hold.state}; only stopped or frozen holds can be released.`);
        }
        if (!view.holds.some(releasable)) throw refuse(REFUSAL.invalidTransition, `Stop-payment ${stopPaymentId} holds nothing that could be released.`);
      },
    },
  );

  setHandler(holdChangedSignal, (hold) => {
    const index = view.holds.findIndex((h) => h.holdId === hold.holdId);
    if (index < 0) return;
    const before = view.holds[index]!;
    view.holds[index] = hold;
    if (hold.stoppedAt && !view.firstStopAt) view.firstStopAt = hold.stoppedAt;
    retotal();
    if (before.state !== hold.state || before.expiresAt !== hold.expiresAt || before.stoppedFen !== hold.stoppedFen)
      record('hold_changed', null, {
        holdId: hold.holdId,
        bank: hold.bank,
        account: hold.account,
        state: hold.state,
        stoppedFen: hold.stoppedFen,
        frozenFen: hold.frozenFen,
        expiresAt: hold.expiresAt,
      });
    else recorder.touch();
  });

  setHandler(onwardFoundSignal, ({ parentHoldId, level, transfers }) => {
    if (level > policy.maxOnwardLevels) return;
    for (const onward of transfers) {
      const hold = addHold(onward.bank, onward.account, onward.amountFen, level, parentHoldId);
      if (hold) record('onward_found', null, { holdId: hold.holdId, parentHoldId, level, bank: onward.bank, account: onward.account, amountFen: onward.amountFen });
    }
  });

  setHandler(stopPaymentStateQuery, snapshot);

  if (filing.alertId) {
    try {
      await getExternalWorkflowHandle(alertWorkflowId(filing.alertId)).signal(linkStopPaymentSignal, { stopPaymentId });
    } catch {
      // The alert is closed (or never reached us): link it in the read model instead.
      await linkAlertToStopPayment({ alertId: filing.alertId, stopPaymentId });
    }
  }

  // --- waiting for approval: escalate, never approve on its own ---------------------------------
  while (view.state === 'pending_approval') {
    const wakeAt = nextEscalationAt(deadline);
    const decided = await condition(() => view.state !== 'pending_approval', wakeAt === null ? undefined : Math.max(wakeAt - Date.now(), 1));
    if (decided || !deadline) continue;
    escalateApproval(deadline);
  }

  // --- holds: start each one the case finds, close when all are final ---------------------------
  if (view.state === 'active') {
    for (;;) {
      await condition(() => holdsToStart.length > 0 || view.holds.every((h) => isFinalHold(h.state)));
      if (holdsToStart.length === 0) break;
      for (const hold of holdsToStart.splice(0)) {
        const child = await startChild(HoldWorkflow, {
          workflowId: hold.workflowId,
          args: [{ stopPaymentId, caseWorkflowId: view.workflowId, hold, policy }],
          // The case closes as soon as every hold has reported a final state, while a hold may still be
          // projecting that state: closing must not terminate it (the default), or its read-model row
          // keeps the state before (a released hold still shown as stopped).
          ...(patched(HOLDS_OUTLIVE_CASE) ? { parentClosePolicy: 'ABANDON' as const } : {}),
        });
        // Belt and braces: a hold's final answer also arrives as its result.
        void child.result().then(
          (final) => {
            const index = view.holds.findIndex((h) => h.holdId === final.holdId);
            if (index >= 0 && !isFinalHold(view.holds[index]!.state)) {
              view.holds[index] = final;
              retotal();
              recorder.touch();
            }
          },
          () => {},
        );
      }
    }
    view.state = 'closed';
    view.closedAt = iso(Date.now());
    record('closed', null, { requestedFen: view.requestedFen, stoppedFen: view.stoppedFen, frozenFen: view.frozenFen });
  }

  await condition(allHandlersFinished);
  await recorder.flush();
  return snapshot();
}
