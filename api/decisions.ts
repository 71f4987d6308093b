/** Sending a human decision to a workflow as an Update, and turning a validator's refusal into a problem. */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError, type UpdateDefinition } from '@temporalio/common';
import type { User } from '../db/users.js';
import type { DecisionActor } from '../domain/alert.js';
import type { Role } from '../domain/roles.js';
import { REFUSAL } from '../workflows/messages.js';
import { Problem } from './problem.js';

/** The role a user acts in for a route: the first of the route's roles they hold. */
export const actorFor = (user: User, allowed: readonly Role[]): DecisionActor => ({
  userId: user.userId,
  name: user.name,
  role: allowed.find((role) => user.roles.includes(role)) ?? user.roles[0]!,
});

/** The Idempotency-Key, scoped to its user, is the Update ID: a retried decision has one effect. */
export const updateIdFor = (user: User, idempotencyKey: string | null) => (idempotencyKey ? `${user.userId}:${idempotencyKey}` : randomUUID());

/**
 * Executes the Update; a refusal from a validator becomes 409 (or 403 for separation of duties),
 * a workflow that has ended becomes 409 `closedMessage`.
 */
export async function sendDecision<Ret, Args extends [unknown, ...unknown[]]>(
  handle: WorkflowHandle,
  update: UpdateDefinition<Ret, Args>,
  args: Args,
  updateId: string,
  closedMessage: string,
): Promise<Ret> {
  try {
    return await handle.executeUpdate(update, { args, updateId });
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
      const { type, message } = error.cause;
      if (type === REFUSAL.notAssignee) throw new Problem(409, 'not_assignee', message);
      if (type === REFUSAL.invalidTransition) throw new Problem(409, 'invalid_transition', message);
      if (type === REFUSAL.separationOfDuties) throw new Problem(403, 'separation_of_duties', message);
    }
    if (error instanceof WorkflowNotFoundError) throw new Problem(409, 'invalid_transition', closedMessage);
    throw error;
  }
}
