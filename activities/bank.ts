/** Bank instructions as activities: thin, so the gateway client's error sorting drives Temporal's retries. */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { BankAction, BankInstruction } from '#domain/bank.js';
import type { BankGateway } from './bank-gateway.js';

/**
 * Every call counted by action and outcome (the bank's answer, or why there was none: bank_unavailable,
 * bank_rejected, bank_bad_answer, cancelled) and timed, on the SDK's metric meter: the worker's
 * Prometheus exporter serves them beside the SDK's own (FANZHA_WORKER_METRICS_ADDRESS), tagged with the
 * activity type, namespace and task queue. Without an exporter the meter records nothing.
 */
async function measured<T extends { status: string }>(action: BankAction, call: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const started = performance.now();
  let outcome = 'error';
  try {
    const answer = await call();
    outcome = answer.status;
    return answer;
  } catch (error) {
    if (context.cancellationSignal.aborted) outcome = 'cancelled';
    else if (error instanceof ApplicationFailure && error.type) outcome = error.type;
    throw error;
  } finally {
    const meter = context.metricMeter.withTags({ action, outcome });
    meter.createCounter('fanzha_bank_gateway_calls', 'calls', 'Bank gateway calls by action and outcome').add(1);
    meter
      .createHistogram('fanzha_bank_gateway_call_duration', 'float', 's', 'Bank gateway call duration')
      .record((performance.now() - started) / 1000);
  }
}

export function createBankActivities({ bankGateway }: { bankGateway: BankGateway }) {
  const options = () => ({ signal: Context.current().cancellationSignal });
  return {
    stopAtBank: (instruction: BankInstruction) =>
      measured('stop-payments', () => bankGateway.stopPayment(instruction, options())),
    freezeAtBank: (instruction: BankInstruction) =>
      measured('freezes', () => bankGateway.freeze(instruction, options())),
    renewAtBank: (instruction: BankInstruction) =>
      measured('renewals', () => bankGateway.renew(instruction, options())),
    releaseAtBank: (instruction: BankInstruction) =>
      measured('releases', () => bankGateway.release(instruction, options())),
  };
}

export type BankActivities = ReturnType<typeof createBankActivities>;
