/**
 * Durations and limits of both processes (DESIGN.md §7). Pure: the policy is resolved when a
 * workflow starts and travels in its input, so a running workflow never changes rules under replay.
 */
import type { RiskLevel } from './alert.js';
import { parseDuration } from './duration.js';

type PerRisk<T> = Record<RiskLevel, T>;

export interface AlertPolicy {
  claimSla: PerRisk<number>;
  callTimeout: number;
  maxCallAttempts: number;
  retryDelay: PerRisk<number>;
  visitOnUnreachable: PerRisk<boolean>;
  visitSla: PerRisk<number>;
}

export interface StopPaymentPolicy {
  approvalSla: number;
  stopValidity: number;
  maxRestops: number;
  freezeReminderBefore: number;
  freezeValidity: number;
  renewalReminderBefore: number;
  majorCaseThresholdFen: number;
  maxOnwardLevels: number;
  /**
   * Bounds on one case (issue 15 §3): accounts held in all, and onward accounts taken from one bank
   * answer. What lies beyond is reported to the supervisor, never dropped silently. Absent from
   * the policy of a case started before them (no bound).
   */
  maxHoldsPerCase: number;
  maxOnwardAccountsPerHold: number;
}

/** Every duration in milliseconds. */
export interface Policy {
  alert: AlertPolicy;
  stopPayment: StopPaymentPolicy;
}

export const DEFAULT_POLICY_SPEC = {
  alert: {
    claimSla: { high: '2m', medium: '5m', low: '15m' },
    callTimeout: '15m',
    maxCallAttempts: 3,
    retryDelay: { high: '5m', medium: '10m', low: '30m' },
    visitOnUnreachable: { high: true, medium: true, low: false },
    visitSla: { high: '1h', medium: '4h', low: '24h' },
  },
  stopPayment: {
    approvalSla: '5m',
    stopValidity: '48h',
    maxRestops: 2,
    freezeReminderBefore: '12h',
    freezeValidity: '180d',
    renewalReminderBefore: '15d',
    majorCaseThresholdFen: 50_000_000,
    maxOnwardLevels: 5,
    maxHoldsPerCase: 100,
    maxOnwardAccountsPerHold: 30,
  },
} as const;

type Kind = 'duration' | 'count' | 'boolean' | 'fen';
const SHAPE: Record<keyof Policy, Record<string, Kind | PerRisk<Kind>>> = {
  alert: {
    claimSla: { high: 'duration', medium: 'duration', low: 'duration' },
    callTimeout: 'duration',
    maxCallAttempts: 'count',
    retryDelay: { high: 'duration', medium: 'duration', low: 'duration' },
    visitOnUnreachable: { high: 'boolean', medium: 'boolean', low: 'boolean' },
    visitSla: { high: 'duration', medium: 'duration', low: 'duration' },
  },
  stopPayment: {
    approvalSla: 'duration',
    stopValidity: 'duration',
    maxRestops: 'count',
    freezeReminderBefore: 'duration',
    freezeValidity: 'duration',
    renewalReminderBefore: 'duration',
    majorCaseThresholdFen: 'fen',
    maxOnwardLevels: 'count',
    maxHoldsPerCase: 'count',
    maxOnwardAccountsPerHold: 'count',
  },
};

export class PolicyError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid policy: ${problems.join('; ')}`);
  }
}

function parseValue(kind: Kind, value: unknown): number | boolean {
  switch (kind) {
    case 'duration':
      return parseDuration(value);
    case 'boolean':
      if (typeof value !== 'boolean') throw new Error(`must be true or false (got ${JSON.stringify(value)})`);
      return value;
    case 'count':
      if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 1000)
        throw new Error(`must be a whole number from 0 to 1000 (got ${JSON.stringify(value)})`);
      return value as number;
    case 'fen':
      if (!Number.isSafeInteger(value) || (value as number) < 1)
        throw new Error(`must be a positive whole number of fen (got ${JSON.stringify(value)})`);
      return value as number;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Merges an override (any subset of the defaults' shape) onto the defaults and parses every value.
 * Unknown keys are refused so that a typo in a policy file is not silently ignored.
 */
export function resolvePolicy(override: unknown = {}): Policy {
  const problems: string[] = [];
  const walk = (shape: Record<string, unknown>, defaults: Record<string, unknown>, given: unknown, path: string) => {
    const out: Record<string, unknown> = {};
    if (given !== undefined && !isObject(given)) {
      problems.push(`${path || '(root)'} must be an object`);
      given = {};
    }
    const provided = (given ?? {}) as Record<string, unknown>;
    for (const key of Object.keys(provided)) {
      if (!(key in shape)) problems.push(`${path}/${key} is not a policy setting`);
    }
    for (const [key, kind] of Object.entries(shape)) {
      const at = `${path}/${key}`;
      if (isObject(kind)) {
        out[key] = walk(kind, defaults[key] as Record<string, unknown>, provided[key], at);
        continue;
      }
      const value = key in provided ? provided[key] : defaults[key];
      try {
        out[key] = parseValue(kind as Kind, value);
      } catch (error) {
        problems.push(`${at} ${(error as Error).message}`);
      }
    }
    return out;
  };
  const policy = walk(
    SHAPE,
    DEFAULT_POLICY_SPEC as unknown as Record<string, unknown>,
    override,
    '',
  ) as unknown as Policy;
  if (policy.alert && policy.alert.maxCallAttempts < 1) problems.push('/alert/maxCallAttempts must be at least 1');
  if (problems.length > 0) throw new PolicyError(problems);
  return policy;
}
