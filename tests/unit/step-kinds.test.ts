/** The step kinds of domain/steps.ts against the steps the golden histories (tests/histories) projected. */
import { describe, expect, it } from 'vitest';
import { ALERT_STEP_KINDS, HOLD_STEP_KINDS, STOP_PAYMENT_STEP_KINDS } from '#domain/steps.js';
import { loadGoldens } from '../helpers/goldens.js';

const KINDS: Record<string, readonly string[]> = {
  recordAlertEvents: ALERT_STEP_KINDS,
  recordStopPaymentEvents: STOP_PAYMENT_STEP_KINDS,
  recordHoldEvents: HOLD_STEP_KINDS,
};

interface JsonEvent {
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string }; input: { payloads: { data: string }[] } };
}

/** [projection activity, step kind] for every step every golden history projected. */
function projectedSteps(): [string, string][] {
  const steps: [string, string][] = [];
  for (const { json } of loadGoldens()) {
    for (const event of json.events as JsonEvent[]) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      const activity = scheduled?.activityType?.name;
      if (!scheduled || !activity || !(activity in KINDS)) continue;
      const batch = JSON.parse(Buffer.from(scheduled.input.payloads[0]!.data, 'base64').toString('utf8'));
      for (const step of batch.events as { event: { kind: string } }[]) steps.push([activity, step.event.kind]);
    }
  }
  return steps;
}

describe('step kinds', () => {
  it('list each kind once', () => {
    for (const kinds of Object.values(KINDS)) expect(new Set(kinds).size).toBe(kinds.length);
  });

  it('contain every kind the golden histories recorded, under the workflow that recorded it', () => {
    const steps = projectedSteps();
    expect(new Set(steps.map(([activity]) => activity))).toEqual(new Set(Object.keys(KINDS)));
    for (const [activity, kind] of steps) expect(KINDS[activity], `${activity}: ${kind}`).toContain(kind);
  });
});
