/**
 * The audit timeline of every golden history (tests/histories), built without any server: what an
 * auditor reads must name who decided, word every step, decision and signal the workflows record, and
 * never show a victim's phone in full.
 */
import { describe, expect, it } from 'vitest';
import { isWordedStep, runTimeline, type TimelineEntry } from '#audit/timeline.js';
import { ALERT_STEP_KINDS, HOLD_STEP_KINDS, STOP_PAYMENT_STEP_KINDS } from '#domain/steps.js';
import { loadGoldens } from '../helpers/goldens.js';

const goldens = loadGoldens().map(({ file, workflowType, json }) => ({
  file,
  workflowType,
  timeline: runTimeline(workflowType, { runId: file, history: json }),
}));

const STEP_KINDS: Record<string, readonly string[]> = {
  AlertWorkflow: ALERT_STEP_KINDS,
  StopPaymentWorkflow: STOP_PAYMENT_STEP_KINDS,
  HoldWorkflow: HOLD_STEP_KINDS,
};
const isStep = (workflowType: string, entry: TimelineEntry) =>
  (STEP_KINDS[workflowType] ?? []).includes(entry.kind) && entry.detail?.seq !== undefined;

describe('the audit timeline of every golden history', () => {
  it('is in history order, each entry with its time', () => {
    for (const { file, timeline } of goldens) {
      expect(timeline.length, file).toBeGreaterThan(0);
      const ids = timeline.map((e) => e.eventId);
      expect(ids, file).toEqual([...ids].sort((a, b) => a - b));
      for (const entry of timeline) expect(Number.isNaN(Date.parse(entry.at)), `${file} #${entry.eventId}`).toBe(false);
    }
  });

  it('words every recorded step, decision and signal (none falls back to raw names)', () => {
    let steps = 0;
    for (const { file, workflowType, timeline } of goldens) {
      for (const entry of timeline) {
        const where = `${file} #${entry.eventId} ${entry.kind}: ${entry.summary}`;
        if (isStep(workflowType, entry)) {
          steps++;
          expect(isWordedStep(workflowType, entry.kind), where).toBe(true);
        }
        expect(entry.summary, where).not.toMatch(/sent the decision “|^Signal “/);
      }
    }
    expect(steps).toBeGreaterThan(50);
  });

  it('names the person behind every decision, with their role', () => {
    const decisions = goldens.flatMap(({ file, timeline }) =>
      timeline.filter((e) => e.kind === 'update_accepted').map((e) => ({ file, e })),
    );
    expect(decisions.length).toBeGreaterThan(10);
    for (const { file, e } of decisions) {
      expect(e.actor?.name, `${file} #${e.eventId}`).toBeTruthy();
      expect(e.actor?.role, `${file} #${e.eventId}`).toBeTruthy();
      expect(e.summary.startsWith(`${e.actor!.name} (${e.actor!.role}) `), e.summary).toBe(true);
    }
  });

  it('never shows a victim phone in full', () => {
    for (const { file, timeline } of goldens)
      for (const entry of timeline) expect(entry.summary, `${file} #${entry.eventId}`).not.toMatch(/1[3-9]\d{9}/);
  });

  it('tells a dissuaded alert as a person would read it', () => {
    const { timeline } = goldens.find((g) => g.file === 'alert-dissuaded.json')!;
    const story = timeline
      .filter((e) => e.kind !== 'timer_started')
      .map((e) => [e.kind, e.actor?.role ?? null, e.summary]);
    expect(story.map(([kind]) => kind)).toEqual([
      'workflow_started',
      'received',
      'update_accepted',
      'update_completed',
      'claimed',
      'update_accepted',
      'update_completed',
      'call_result',
      'closed',
      'workflow_completed',
    ]);
    expect(story[0]![2]).toMatch(
      /^Alert \S+ received from ministry: medium risk, investment fraud, victim 张三 138\*\*\*\*5678/,
    );
    expect(story[2]).toEqual(['update_accepted', 'operator', expect.stringMatching(/claimed the alert to call$/)]);
    expect(story[5]![2]).toMatch(/reported the call: contacted, outcome dissuaded, 50000\.00 CNY at risk/);
    expect(story[8]).toEqual(['closed', 'operator', 'Closed: dissuaded']);
  });
});
