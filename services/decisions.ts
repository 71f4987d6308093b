/** Who acts, whether they may, and sending their decision to a workflow as an Update. */
import { randomUUID } from 'node:crypto';
import { ServiceError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError, type UpdateDefinition } from '@temporalio/common';
import type { User } from '#db/users.js';
import type { DecisionActor } from '#domain/alert.js';
import { Refusal } from '#domain/refusal.js';
import { hasRole, type Role } from '#domain/roles.js';
import { REFUSAL } from '#workflows/messages.js';

/** Fails closed: a user without one of `allowed` is refused, whichever entry point they came through. */
export function requireRole(user: User, allowed: readonly Role[]): void {
  if (!hasRole(user.roles, allowed))
    throw new Refusal('forbidden', `This needs one of the roles: ${allowed.join(', ')}.`);
}

/** The role a user acts in: the first of `allowed` they hold (checked), carried inside the decision. */
export function actorFor(user: User, allowed: readonly Role[]): DecisionActor {
  requireRole(user, allowed);
  return { userId: user.userId, name: user.name, role: allowed.find((role) => user.roles.includes(role))! };
}

/** The Idempotency-Key, scoped to its user, is the Update ID: a retried decision has one effect. */
export const updateIdFor = (user: User, idempotencyKey: string | null) =>
  idempotencyKey ? `${user.userId}:${idempotencyKey}` : randomUUID();

/** gRPC RESOURCE_EXHAUSTED: the server's limit of Updates in flight on one workflow (history.maxInFlightUpdates). */
const RESOURCE_EXHAUSTED = 8;
export const isUpdateLimit = (error: unknown) =>
  error instanceof ServiceError && (error.cause as { code?: unknown } | undefined)?.code === RESOURCE_EXHAUSTED;

/**
 * Executes the Update; a refusal from a validator becomes the matching Refusal, a workflow that has
 * ended refuses with `closedMessage`, and a workflow with too many decisions in flight is "unavailable"
 * (503 with Retry-After): nothing was done, and sending again shortly works.
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
      if (type === REFUSAL.notAssignee) throw new Refusal('not_assignee', message);
      if (type === REFUSAL.invalidTransition) throw new Refusal('invalid_transition', message);
      if (type === REFUSAL.separationOfDuties) throw new Refusal('separation_of_duties', message);
      // A decision added by a later version (behind a patch): a run started before it has no handler.
      if (message.startsWith('No registered handler for update'))
        throw new Refusal(
          'invalid_transition',
          `This case was started before "${update.name}" existed; it cannot take it.`,
        );
    }
    if (error instanceof WorkflowNotFoundError) throw new Refusal('invalid_transition', closedMessage);
    if (isUpdateLimit(error))
      throw new Refusal(
        'unavailable',
        'This case is taking too many decisions at this moment; yours was not taken. Send it again in a few seconds.',
      );
    throw error;
  }
}
