/** Missed deadlines escalate twice, the same span apart: level 1 tells the supervisor, level 2 the center head. */

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
