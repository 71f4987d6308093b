import type { Database } from '../db/client.js';
import { createAlertActivities } from './alert-record.js';
import { createArchiveActivities } from './archive.js';
import { createBankActivities } from './bank.js';
import type { BankGateway } from './bank-gateway.js';
import { createStopPaymentRecordActivities } from './stop-payment-record.js';

export interface ActivityDeps {
  db: Database;
  bankGateway: BankGateway;
}

/** Every activity the worker registers, created from its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createAlertActivities(deps),
    ...createStopPaymentRecordActivities(deps),
    ...createBankActivities(deps),
    ...createArchiveActivities(deps),
  };
}
