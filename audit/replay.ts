/**
 * Replaying recorded histories against the workflow code this process would run now
 * (`Worker.runReplayHistories`): a history that replays proves the code reproduces every recorded
 * decision; one that does not names the first command that differs. The code is a prebuilt bundle
 * (FANZHA_REPLAY_BUNDLE, or a test's) or workflows/ bundled once, lazily, on the first replay.
 * Replays run one at a time: each starts a replay worker, which is not free.
 */
import { fileURLToPath } from 'node:url';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils.js';

/** The same entry point the worker bundles (worker/worker.ts WORKFLOWS_PATH); audit/ never imports the worker. */
export const WORKFLOWS_ENTRY = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export type ReplayVerdict = { deterministic: true } | { deterministic: false; error: string };

export interface ReplayInput {
  workflowId: string;
  /** A History object, or its proto3 JSON (parsed or text). */
  history: History | unknown;
}

const quietLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error: (message: string) => console.error(message),
};

export function createReplayer(options: { bundlePath?: string | null; workflowsPath?: string } = {}) {
  let bundled: Promise<WorkflowBundleOption> | null = null;
  let queue: Promise<unknown> = Promise.resolve();

  async function workflowBundle(): Promise<WorkflowBundleOption> {
    if (options.bundlePath) return { codePath: options.bundlePath };
    bundled ??= import('@temporalio/worker')
      .then(({ bundleWorkflowCode }) =>
        bundleWorkflowCode({ workflowsPath: options.workflowsPath ?? WORKFLOWS_ENTRY, logger: quietLogger }),
      )
      .catch((error: unknown) => {
        bundled = null;
        throw error;
      });
    return bundled;
  }

  const toHistory = (history: unknown): History => {
    if (typeof history === 'string') return historyFromJSON(JSON.parse(history));
    const first = (history as { events?: { eventId?: unknown }[] } | null)?.events?.[0];
    return typeof first?.eventId === 'string' ? historyFromJSON(history) : (history as History);
  };

  /** Replays each history in turn; one verdict per history, in order. */
  async function replayAll(
    inputs: Iterable<ReplayInput> | AsyncIterable<ReplayInput>,
    onVerdict?: (input: ReplayInput, verdict: ReplayVerdict) => void | Promise<void>,
  ) {
    const run = async () => {
      const { Worker } = await import('@temporalio/worker');
      const bundle = await workflowBundle();
      const pending: ReplayInput[] = [];
      async function* histories() {
        for await (const input of inputs) {
          pending.push(input);
          yield { workflowId: input.workflowId, history: toHistory(input.history) };
        }
      }
      const verdicts: ReplayVerdict[] = [];
      for await (const result of Worker.runReplayHistories(
        { workflowBundle: bundle, replayName: 'fanzha-audit' },
        histories(),
      )) {
        const verdict: ReplayVerdict = result.error
          ? { deterministic: false, error: result.error.message }
          : { deterministic: true };
        verdicts.push(verdict);
        await onVerdict?.(pending.shift()!, verdict);
      }
      return verdicts;
    };
    const next = queue.then(run, run);
    queue = next.catch(() => {});
    return next;
  }

  async function replay(input: ReplayInput): Promise<ReplayVerdict> {
    const [verdict] = await replayAll([input]);
    if (!verdict) throw new Error(`replay of ${input.workflowId} gave no result`);
    return verdict;
  }

  return { replay, replayAll, workflowBundle };
}

export type Replayer = ReturnType<typeof createReplayer>;
