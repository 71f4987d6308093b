/**
 * An archiver activity whose worker went silent (a worker killed in the middle of it, seen in the
 * cluster test) is taken up again within its 30 s heartbeat timeout. Before, only the 5-minute
 * start-to-close found it, and the archiver's schedule — which skips while a run is open — archived
 * nothing for those 5 minutes.
 */
import { randomBytes } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArchiverResult } from '#workflows/archiver.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { auditStackOptions } from './helpers.js';

const { TimeoutType } = temporal.api.enums.v1;

let stack: Stack;
let attempts = 0;

beforeAll(async () => {
  stack = await startStack(
    auditStackOptions({
      activities: {
        // The first attempt behaves like an activity on a worker that died: never an answer, never a heartbeat.
        listArchivable: async () => {
          attempts += 1;
          if (attempts === 1) await Context.current().cancelled;
          return [];
        },
      },
    }),
  );
});
afterAll(async () => {
  await stack?.close();
});

describe('the archiver', () => {
  it('takes up an activity whose worker went silent within the heartbeat timeout, not the start-to-close', async () => {
    const taskQueue = stack.config.temporal.taskQueue;
    const workflowId = `archiver-silent-${randomBytes(4).toString('hex')}`;
    // Within the test's 150 s: a start-to-close of 5 minutes alone would not be.
    const result: ArchiverResult = await stack.client.workflow.execute('ArchiverWorkflow', {
      taskQueue,
      workflowId,
      args: [{ taskQueue }],
    });
    expect(result).toMatchObject({ archived: 0, already_archived: 0, gone: 0, still_open: 0 });
    expect(attempts).toBe(2);
    // The attempt that answered was the second, started because the first missed its heartbeat.
    const { events } = await stack.client.workflow.getHandle(workflowId).fetchHistory();
    const started = events!.find((e) => e.activityTaskStartedEventAttributes)!.activityTaskStartedEventAttributes!;
    expect(started.attempt).toBe(2);
    expect(started.lastFailure?.timeoutFailureInfo?.timeoutType).toBe(TimeoutType.TIMEOUT_TYPE_HEARTBEAT);
  }, 150_000);
});
