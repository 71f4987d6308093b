/** Missed deadlines escalate twice, the same span apart: level 1 tells the supervisor, level 2 the center head. */

import { patched } from '@temporalio/workflow';

export interface Deadline<Kind extends string = string> {
  kind: Kind;
  dueAt: number;
  span: number;
  /** Escalations this deadline has caused so far. */
  level: number;
}

export const MAX_ESCALATION = 2;

export const escalationRecipient = (level: number) => (level <= 1 ? 'supervisor' : 'center_head') as 'supervisor' | 'center_head';

export const startDeadline = <Kind extends string>(kind: Kind, span: number, from: number): Deadline<Kind> => ({
  kind,
  dueAt: from + span,
  span,
  level: 0,
});

/** When the next escalation of this deadline is due, or null when it has escalated as far as it goes. */
export const nextEscalationAt = (deadline: Deadline | null): number | null =>
  deadline && deadline.level < MAX_ESCALATION ? deadline.dueAt + deadline.level * deadline.span : null;

/**
 * A decision that lands in the same workflow task as its deadline's timer is handled before the
 * timer (Updates come first). Called before the decision changes anything, this raises every
 * escalation already due at `now`, oldest first, as the timer would have; otherwise a deadline
 * missed while no worker ran was never counted. Patch `late-decision-escalates`: recorded only when
 * something was due, so histories from before keep replaying.
 */
export function raiseDueEscalations<D extends Deadline>(deadline: D | null, now: number, escalate: (missed: D) => void): void {
  const due = () => {
    const at = nextEscalationAt(deadline);
    return at !== null && at <= now;
  };
  if (!deadline || !due() || !patched('late-decision-escalates')) return;
  while (due()) escalate(deadline);
}
