/**
 * The golden histories (tests/histories, recorded by `npm run histories:record` on a real dev server)
 * replayed against the workflow code as it is now. A change that would break workflows already
 * running fails here, before it lands: make intended changes with `patched()`.
 */
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { loadGoldens } from '../helpers/goldens.js';
import { changedWorkflowBundle } from './helpers.js';

try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed in this process
}

const goldens = loadGoldens().map((g) => ({ ...g, history: historyFromJSON(g.json) }));

describe('golden histories', () => {
  it('cover every workflow type and its meaningful paths', () => {
    const types = new Set(goldens.map((g) => g.workflowType));
    expect([...types].sort()).toEqual([
      'AlertWorkflow',
      'ArchiverWorkflow',
      'BackupWorkflow',
      'HoldWorkflow',
      'StopPaymentWorkflow',
    ]);
    expect(goldens.map((g) => g.file)).toEqual(
      expect.arrayContaining([
        'alert-dissuaded.json',
        'alert-retries-visit.json',
        'alert-escalations.json',
        'alert-cancel.json',
        'alert-transfer.json',
        // Recorded after patch late-decision-escalates: a claim and its missed deadline in one task.
        'alert-late-claim.json',
        // Recorded after patch supervisor-release: a supervisor takes a held alert back to the queue.
        'alert-force-release.json',
        'stop-payment-approve-onward-release.json',
        // Recorded after patch holds-outlive-case-close: both sides of the patch keep replaying.
        'stop-payment-holds-outlive-case.json',
        'stop-payment-escalated-reject.json',
        'stop-payment-lapse.json',
        'hold-freeze-renew-run1.json',
        'hold-freeze-renew-expired-run2.json',
        'backup-scheduled.json',
      ]),
    );
    // Each file is named after the type it holds.
    const prefix: Record<string, string> = {
      AlertWorkflow: 'alert-',
      StopPaymentWorkflow: 'stop-payment-',
      HoldWorkflow: 'hold-',
      ArchiverWorkflow: 'archiver-',
      BackupWorkflow: 'backup-',
    };
    for (const g of goldens) expect(g.file.startsWith(prefix[g.workflowType]!), g.file).toBe(true);
  });

  it('all replay against the current workflow code', async () => {
    expect(await replayAll(inject('workflowBundlePath'))).toEqual(goldens.map((g) => [g.file, null]));
  });

  it('would stop a change made without patched(): the histories of the changed workflow no longer replay', async () => {
    const results = await replayAll(await changedWorkflowBundle());
    for (const [file, error] of results) {
      if (file.startsWith('alert-')) expect(error, file).toMatch(/nondeterminism/i);
      else expect(error, file).toBeNull();
    }
  }, 120_000);
});

async function replayAll(codePath: string): Promise<[string, string | null][]> {
  const results: [string, string | null][] = [];
  const replays = Worker.runReplayHistories(
    { workflowBundle: { codePath }, replayName: 'golden' },
    goldens.map((g) => ({ workflowId: g.file, history: g.history })),
  );
  for await (const result of replays) results.push([result.workflowId, result.error ? result.error.message : null]);
  return results;
}
