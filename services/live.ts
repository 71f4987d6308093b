/**
 * What changed since a point in the live feed, as one person may learn it: alerts to those who read
 * alerts (a station officer: their station's only), cases to those who read cases. An event says only
 * that something of a kind changed and its new state — no names, phones or amounts — and each page
 * then asks the services again for what it shows.
 */
import type { Database } from '#db/client.js';
import type { User } from '#db/users.js';
import { hasRole, MAY } from '#domain/roles.js';
import { changesAfter, newestChangeId, type LiveChange } from '#read-model/live.js';
import { stationScope } from './alerts.js';

export interface LiveEvent {
  id: number;
  /** `escalation`: a supervisor acknowledged one (the banners of the others stop). */
  caseType: 'alert' | 'stop_payment' | 'escalation';
  state: string;
}

const visibleTo = (user: User) => {
  const readsAlerts = hasRole(user.roles, MAY.readAlerts);
  // The 110 desk hears of closed alerts: an operator may have handed one over (defrauded).
  const takesHandovers = hasRole(user.roles, MAY.fileStopPayments);
  const readsCases = hasRole(user.roles, MAY.readStopPayments);
  const readsEscalations = hasRole(user.roles, MAY.readNotifications);
  const station = stationScope(user);
  return (change: LiveChange) =>
    change.caseType === 'alert'
      ? (readsAlerts && (station === null || change.stationId === station)) ||
        (takesHandovers && change.state === 'closed')
      : change.caseType === 'escalation'
        ? readsEscalations
        : change.caseType === 'stop_payment' && readsCases;
};

export function createLiveService({ db }: { db: Database }) {
  return {
    newest: () => newestChangeId(db),

    /** The events after `afterId` that `user` may see, and the id to continue from (seen or not). */
    async after(user: User, afterId: number): Promise<{ events: LiveEvent[]; next: number }> {
      const rows = await changesAfter(db, afterId);
      const sees = visibleTo(user);
      return {
        events: rows
          .filter(sees)
          .map((row) => ({ id: row.id, caseType: row.caseType as LiveEvent['caseType'], state: row.state })),
        next: rows.length > 0 ? rows[rows.length - 1]!.id : afterId,
      };
    },
  };
}

export type LiveService = ReturnType<typeof createLiveService>;
