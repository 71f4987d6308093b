/**
 * Every service, built from what the process opened: the one set of business rules behind every entry
 * point (the JSON API now, the console next). No Fastify here.
 */
import type { Client } from '@temporalio/client';
import type { FanzhaConfig } from '#config/index.js';
import type { Database } from '#db/client.js';
import type { UserStore } from '#db/users.js';
import { createAlertService } from './alerts.js';
import { createAuditService } from './audit.js';
import { createBoardService } from './board.js';
import { createLiveService } from './live.js';
import { createNotificationService } from './notifications.js';
import { createOperationsService } from './operations.js';
import { createSearchService } from './search.js';
import { createSessionService } from './sessions.js';
import { createStatsService } from './stats.js';
import { createStopPaymentService } from './stop-payments.js';
import { createUserService } from './users.js';

export interface ServiceDeps {
  db: Database;
  temporal: Client;
  config: FanzhaConfig;
  users: UserStore;
}

export function createServices(deps: ServiceDeps) {
  return {
    alerts: createAlertService(deps),
    stopPayments: createStopPaymentService(deps),
    stats: createStatsService(deps.db),
    audit: createAuditService(deps),
    notifications: createNotificationService(deps),
    users: createUserService(deps),
    sessions: createSessionService(deps),
    live: createLiveService(deps),
    search: createSearchService(deps),
    board: createBoardService(deps),
    operations: createOperationsService({ db: deps.db, policy: deps.config.policy }),
  };
}

export type Services = ReturnType<typeof createServices>;
