/** What every workflow here shares: refusals, timestamps, the projection activities' options. */
import { ApplicationFailure, type ActivityOptions } from '@temporalio/workflow';
import { REFUSAL } from './messages.js';

/** A decision refused by a validator; non-retryable, so it reaches the caller as it is. */
export const refuse = (type: string, message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

/** Refuses unless `state` is one of `allowed`; `shown` is how the message names the state. */
export function requireState<S extends string>(
  subject: string,
  state: S,
  allowed: readonly S[],
  shown: string = state,
): void {
  if (!allowed.includes(state))
    throw refuse(REFUSAL.invalidTransition, `${subject} is ${shown}; this needs it to be ${allowed.join(' or ')}.`);
}

export const iso = (ms: number) => new Date(ms).toISOString();

/** The read-model projections (record…Events). */
export const PROJECTION_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30s',
  // Projections must land eventually, through any database outage.
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
};

/** How long a decision's answer waits for the bank before it returns the state as it is (e.g. `freezing`). */
export const ANSWER_WAIT = '20s';
