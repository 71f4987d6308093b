/**
 * Deadlines and their escalations, the pure part: no Temporal. `raiseDueEscalations`, which asks
 * `patched()`, runs only on the real engine: the late-claim and late-approval tests (a decision and
 * its missed deadline in one workflow task) and the golden history alert-late-claim.json.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  escalationRecipient,
  escalationsDue,
  MAX_ESCALATION,
  nextEscalationAt,
  raiseEscalation,
  startDeadline,
} from '#workflows/escalation.js';

const T0 = Date.parse('2026-11-28T10:00:00Z');
const MIN = 60_000;

describe('startDeadline', () => {
  it('is due one span after it starts, not yet escalated', () => {
    expect(startDeadline('claim', 2 * MIN, T0)).toEqual({
      kind: 'claim',
      dueAt: T0 + 2 * MIN,
      span: 2 * MIN,
      level: 0,
    });
  });
});

describe('nextEscalationAt', () => {
  it('is the due time, then one span later for each escalation raised, then nothing', () => {
    const deadline = startDeadline('call', 15 * MIN, T0);
    expect(nextEscalationAt(deadline)).toBe(T0 + 15 * MIN);
    deadline.level = 1;
    expect(nextEscalationAt(deadline)).toBe(T0 + 30 * MIN);
    deadline.level = MAX_ESCALATION;
    expect(nextEscalationAt(deadline)).toBeNull();
  });

  it('is nothing without a deadline', () => {
    expect(nextEscalationAt(null)).toBeNull();
  });
});

describe('escalationsDue', () => {
  const deadline = (level: number) => ({ ...startDeadline('approval', 5 * MIN, T0), level });

  it.each([
    ['before the due time', 0, T0 + 5 * MIN - 1, 0],
    ['at the due time', 0, T0 + 5 * MIN, 1],
    ['one span later', 0, T0 + 10 * MIN, 2],
    ['long after: never more than the last level', 0, T0 + 1000 * MIN, MAX_ESCALATION],
    ['once the first is raised, before the second', 1, T0 + 10 * MIN - 1, 0],
    ['once the first is raised, at the second', 1, T0 + 10 * MIN, 1],
    ['once both are raised', 2, T0 + 1000 * MIN, 0],
  ])('%s', (_, level, now, due) => {
    expect(escalationsDue(deadline(level), now)).toBe(due);
  });

  it('is none without a deadline', () => {
    expect(escalationsDue(null, T0)).toBe(0);
  });

  it('raises, in order, exactly the escalations whose time has come', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 * 24 * 60 * MIN }),
        fc.integer({ min: 0, max: MAX_ESCALATION }),
        fc.integer({ min: 0, max: 40 * 24 * 60 * MIN }),
        (span, level, elapsed) => {
          const d = { ...startDeadline('visit', span, T0), level };
          const now = T0 + elapsed;
          const due = escalationsDue(d, now);
          for (let i = 0; i < due; i++) {
            expect(nextEscalationAt(d)!).toBeLessThanOrEqual(now);
            d.level += 1;
          }
          // What is left is due later, or nothing is.
          const next = nextEscalationAt(d);
          expect(next === null || next > now).toBe(true);
        },
      ),
      { seed: 20261128, numRuns: 500 },
    );
  });
});

describe('raiseEscalation', () => {
  it('raises the level and says whom it tells: the supervisor first, then the center head', () => {
    const deadline = startDeadline('claim', 2 * MIN, T0);
    expect(raiseEscalation(deadline)).toEqual({
      deadline: 'claim',
      level: 1,
      dueAt: '2026-11-28T10:02:00.000Z',
      notified: 'supervisor',
    });
    expect(raiseEscalation(deadline)).toEqual({
      deadline: 'claim',
      level: 2,
      dueAt: '2026-11-28T10:02:00.000Z',
      notified: 'center_head',
    });
    expect(deadline.level).toBe(2);
    expect([escalationRecipient(1), escalationRecipient(2)]).toEqual(['supervisor', 'center_head']);
  });
});
