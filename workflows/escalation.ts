/** Missed deadlines escalate twice, the same span apart: level 1 tells the supervisor, level 2 the center head. */

import { patched } from '@temporalio/workflow';
import { iso } from './shared.js';

export interface Deadline<Kind extends string = string> {
  kind: Kind;
  dueAt: number;
  span: number;
  /** Escalations this deadline has caused so far. */
  level: number;
}

export const MAX_ESCALATION = 2;
/** Patch: a decision first raises the escalations its deadline's timer would already have raised. */
export const LATE_DECISION_ESCALATES = 'late-decision-escalates';

export const escalationRecipient = (level: number) =>
  (level <= 1 ? 'supervisor' : 'center_head') as 'supervisor' | 'center_head';

export const startDeadline = <Kind extends string>(kind: Kind, span: number, from: number): Deadline<Kind> => ({
  kind,
  dueAt: from + span,
  span,
  level: 0,
});

/** When the next escalation of this deadline is due, or null when it has escalated as far as it goes. */
export const nextEscalationAt = (deadline: Deadline | null): number | null =>
  deadline && deadline.level < MAX_ESCALATION ? deadline.dueAt + deadline.level * deadline.span : null;

/** How many escalations of this deadline are due at `now` and not yet raised. */
export function escalationsDue(deadline: Deadline | null, now: number): number {
  if (!deadline) return 0;
  let due = 0;
  while (deadline.level + due < MAX_ESCALATION && deadline.dueAt + (deadline.level + due) * deadline.span <= now) due++;
  return due;
}

/** Raises `missed` one level; returns the detail of its `deadline_missed` step. */
export function raiseEscalation<Kind extends string>(missed: Deadline<Kind>) {
  missed.level += 1;
  return {
    deadline: missed.kind,
    level: missed.level,
    dueAt: iso(missed.dueAt),
    notified: escalationRecipient(missed.level),
  };
}

/**
 * A decision that lands in the same workflow task as its deadline's timer is handled before the
 * timer (Updates come first). Called before the decision changes anything, this raises every
 * escalation already due at `now`, oldest first, as the timer would have; otherwise a deadline
 * missed while no worker ran was never counted. The patch is recorded only when something was
 * due, so histories from before keep replaying. `escalate` must raise the level by one.
 */
export function raiseDueEscalations<D extends Deadline>(
  deadline: D | null,
  now: number,
  escalate: (missed: D) => void,
): void {
  const due = escalationsDue(deadline, now);
  if (!deadline || due === 0 || !patched(LATE_DECISION_ESCALATES)) return;
  for (let i = 0; i < due; i++) escalate(deadline);
}
