/**
 * HTTP client for the bank gateway (API.md "Bank gateway and its simulator"), used by activities.
 * Failures are sorted for Temporal's retry policy: an outage (network, timeout, 429, 5xx) is retryable
 * and, since instruction IDs are stable across attempts, a retry never has a second effect; a refusal
 * (other 4xx) or an answer outside the contract is not, as repeating it would only get the same result.
 */
import { ApplicationFailure } from '@temporalio/common';
import type {
  BankAction,
  BankActionAnswer,
  BankInstruction,
  OnwardTransfer,
  StopAnswer,
  StopStatus,
} from '#domain/bank.js';

export interface BankGatewayOptions {
  /** e.g. http://127.0.0.1:3000/sim/bank; the gateway paths are appended. */
  baseUrl: string;
  /** Per call, including reading the answer. Default 10 s. */
  timeoutMs?: number;
}

export interface BankCallOptions {
  /** Aborts the call early, e.g. the activity's cancellation signal. */
  signal?: AbortSignal;
}

export interface BankGateway {
  stopPayment(instr: BankInstruction, options?: BankCallOptions): Promise<StopAnswer>;
  freeze(instr: BankInstruction, options?: BankCallOptions): Promise<BankActionAnswer>;
  renew(instr: BankInstruction, options?: BankCallOptions): Promise<BankActionAnswer>;
  release(instr: BankInstruction, options?: BankCallOptions): Promise<BankActionAnswer>;
}

export const BANK_UNAVAILABLE = 'bank_unavailable';
export const BANK_REJECTED = 'bank_rejected';
export const BANK_BAD_ANSWER = 'bank_bad_answer';

const STOP_STATUSES: readonly StopStatus[] = ['stopped', 'partial', 'empty', 'not_found'];
const ACTION_STATUSES = { freezes: 'frozen', renewals: 'renewed', releases: 'released' } as const;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFen = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

function badAnswer(action: BankAction, why: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `Bank gateway ${action} answered outside the contract: ${why}`,
    BANK_BAD_ANSWER,
  );
}

/** Returns a fresh object with only the contract's fields, so nothing unexpected reaches workflow history. */
function parseStopAnswer(body: unknown): StopAnswer {
  if (!isRecord(body)) throw badAnswer('stop-payments', 'not a JSON object');
  const { status, stoppedFen, onward } = body;
  if (!STOP_STATUSES.includes(status as StopStatus))
    throw badAnswer('stop-payments', `status ${JSON.stringify(status)}`);
  if (!isFen(stoppedFen)) throw badAnswer('stop-payments', `stoppedFen ${JSON.stringify(stoppedFen)}`);
  if (!Array.isArray(onward)) throw badAnswer('stop-payments', 'onward is not an array');
  const transfers: OnwardTransfer[] = onward.map((item, i) => {
    if (
      !isRecord(item) ||
      !isText(item.bank) ||
      !isText(item.account) ||
      !isFen(item.amountFen) ||
      item.amountFen === 0
    )
      throw badAnswer('stop-payments', `onward[${i}] is not { bank, account, amountFen > 0 }`);
    return { bank: item.bank, account: item.account, amountFen: item.amountFen };
  });
  return { status: status as StopStatus, stoppedFen, onward: transfers };
}

function parseActionAnswer(action: keyof typeof ACTION_STATUSES, body: unknown): BankActionAnswer {
  if (!isRecord(body)) throw badAnswer(action, 'not a JSON object');
  const { amountFen } = body;
  const status = body.status as BankActionAnswer['status'];
  // Only the status this action can produce: a "released" answer to a freeze is not a freeze.
  if (status !== ACTION_STATUSES[action] && status !== 'not_found')
    throw badAnswer(action, `status ${JSON.stringify(status)}`);
  if (amountFen !== undefined && !isFen(amountFen)) throw badAnswer(action, `amountFen ${JSON.stringify(amountFen)}`);
  return amountFen === undefined ? { status } : { status, amountFen };
}

/** The problem+json detail when there is one, for a failure message a person can act on. */
async function describeError(response: Response): Promise<string> {
  try {
    const text = await response.text();
    try {
      const body: unknown = JSON.parse(text);
      if (isRecord(body) && typeof body.detail === 'string') return body.detail;
    } catch {
      // not JSON: use the text itself
    }
    return text.slice(0, 300) || response.statusText;
  } catch {
    return response.statusText;
  }
}

export function createBankGateway(options: BankGatewayOptions): BankGateway {
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function call(action: BankAction, instr: BankInstruction, callOptions: BankCallOptions = {}): Promise<unknown> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = callOptions.signal ? AbortSignal.any([timeout, callOptions.signal]) : timeout;
    const what = `Bank gateway ${action} for instruction ${instr.instructionId}`;
    const payload: BankInstruction = { instructionId: instr.instructionId, bank: instr.bank, account: instr.account };
    if (instr.amountFen !== undefined) payload.amountFen = instr.amountFen;
    if (instr.legalDocRef !== undefined) payload.legalDocRef = instr.legalDocRef;

    let response: Response;
    let text: string;
    try {
      response = await fetch(`${base}/gateway/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(payload),
        signal,
      });
      if (!response.ok) {
        const detail = await describeError(response);
        const message = `${what} answered ${response.status}: ${detail}`;
        if (response.status === 429 || response.status >= 500)
          throw ApplicationFailure.retryable(message, BANK_UNAVAILABLE, { status: response.status });
        if (response.status >= 400)
          throw ApplicationFailure.nonRetryable(message, BANK_REJECTED, { status: response.status });
        throw ApplicationFailure.nonRetryable(message, BANK_BAD_ANSWER, { status: response.status });
      }
      text = await response.text();
    } catch (error) {
      if (error instanceof ApplicationFailure) throw error;
      // The caller gave up (e.g. the activity was cancelled): not an outage, let its reason through.
      if (callOptions.signal?.aborted) throw callOptions.signal.reason;
      const message = timeout.aborted
        ? `${what} timed out after ${timeoutMs} ms`
        : `${what} failed: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`;
      throw ApplicationFailure.retryable(message, BANK_UNAVAILABLE);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw badAnswer(action, 'the body is not JSON');
    }
  }

  return {
    async stopPayment(instr, callOptions) {
      return parseStopAnswer(await call('stop-payments', instr, callOptions));
    },
    async freeze(instr, callOptions) {
      return parseActionAnswer('freezes', await call('freezes', instr, callOptions));
    },
    async renew(instr, callOptions) {
      return parseActionAnswer('renewals', await call('renewals', instr, callOptions));
    },
    async release(instr, callOptions) {
      return parseActionAnswer('releases', await call('releases', instr, callOptions));
    },
  };
}
