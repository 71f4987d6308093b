import type { Database } from '../db/client.js';
import { createAlertActivities } from './alert-record.js';

export interface ActivityDeps {
  db: Database;
}

/** Every activity the worker registers, created from its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createAlertActivities(deps),
  };
}
