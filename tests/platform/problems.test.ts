/**
 * How the API answers when a dependency fails: a dependency that is down (or a worker that is not
 * there yet) is a 503 the client may retry; only our own bugs are a 500.
 */
import { ServiceError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { toProblem } from '#api/plugins/app/problems.js';

/** The error the Temporal client throws: its own message is generic, the gRPC status (the reason) is its cause. */
const temporalError = (operation: string, code: number, status: string) =>
  new ServiceError(operation, {
    cause: Object.assign(new Error(`${code} ${status}`), { code, details: status.split(': ')[1] }),
  });

describe('dependency failures', () => {
  it.each([
    [
      'a query while no worker polls the task queue',
      temporalError(
        'Failed to query Workflow',
        9,
        'FAILED_PRECONDITION: no poller seen for task queue recently, worker may be down',
      ),
    ],
    [
      'a query nobody answered in time',
      temporalError(
        'Failed to query Workflow',
        4,
        'DEADLINE_EXCEEDED: query timed out before a worker could process it',
      ),
    ],
    [
      'an Update while the worker that held the workflow died',
      temporalError('Failed to update Workflow', 9, 'FAILED_PRECONDITION: Workflow Task in failed state.'),
    ],
    ['Temporal unreachable', temporalError('Failed to start Workflow', 14, 'UNAVAILABLE: No connection established')],
  ])('answers 503 (retry) for %s', (_what, error) => {
    const problem = toProblem(error as never);
    expect(problem.status).toBe(503);
    expect(problem.code).toBe('unavailable');
  });

  it('answers 500 for an error that is ours, not a dependency', () => {
    expect(
      toProblem(temporalError('Failed to query Workflow', 3, 'INVALID_ARGUMENT: bad payload') as never).status,
    ).toBe(500);
    expect(toProblem(new TypeError('x is undefined') as never).status).toBe(500);
  });
});
