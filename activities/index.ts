import type { Database } from '#db/client.js';
import { withoutQueryParams } from '#db/errors.js';
import { createArchiveActivities } from './archive.js';
import { createBankActivities } from './bank.js';
import type { BankGateway } from './bank-gateway.js';
import { createReadModelActivities } from './read-model.js';

export interface ActivityDeps {
  db: Database;
  bankGateway: BankGateway;
  /** Seals the audit archive (config archiveKey). */
  auditKey: Buffer | null;
}

/** Every activity the worker registers, created from its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return withholdQueryParams({
    ...createReadModelActivities(deps),
    ...createBankActivities(deps),
    ...createArchiveActivities(deps),
  });
}

/** A failed activity's error is logged by the worker and kept in the workflow's history: without query values. */
function withholdQueryParams<A extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: A): A {
  const wrapped: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [name, activity] of Object.entries(activities)) {
    wrapped[name] = async (...args) => {
      try {
        return await activity(...args);
      } catch (error) {
        throw withoutQueryParams(error);
      }
    };
  }
  return wrapped as A;
}
