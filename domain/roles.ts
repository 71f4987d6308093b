export const ROLES = [
  'platform',
  'operator',
  'station',
  'calltaker',
  'approver',
  'senior_approver',
  'supervisor',
  'auditor',
  'admin',
] as const;

export type Role = (typeof ROLES)[number];

/** Who did something, as recorded inside every decision (and so in the workflow history). */
export interface Actor {
  userId: string;
  role: Role;
}

const roles = <const R extends readonly Role[]>(...list: R) => list;

/**
 * The role matrix (DESIGN.md §8): who may do what. Routes declare these lists, and the services check
 * them again, so every entry point (the JSON API, the console) refuses the same people.
 */
export const MAY = {
  ingestAlerts: roles('platform'),
  readAlerts: roles('operator', 'supervisor', 'station', 'auditor'),
  /** Claim, take next, release, report a call. */
  callAlerts: roles('operator'),
  visitAlerts: roles('station', 'supervisor'),
  cancelAlerts: roles('platform', 'supervisor'),
  /** Take a held alert back from its operator to the queue; acknowledge an escalation. */
  superviseAlerts: roles('supervisor'),
  fileStopPayments: roles('calltaker'),
  readStopPayments: roles('calltaker', 'approver', 'senior_approver', 'supervisor', 'auditor'),
  /** Read every case; a call-taker reads the cases they filed. */
  readAllStopPayments: roles('approver', 'senior_approver', 'supervisor', 'auditor'),
  /** Approve, reject, stop a hold again. */
  approveStopPayments: roles('approver'),
  /** Freeze, renew, release. */
  freezeStopPayments: roles('senior_approver'),
  /** "Has this person been warned before?": every alert and case of one victim phone. */
  searchPhones: roles('supervisor', 'auditor'),
  /** "Which other cases sent money to this account?" — and how many stops it has had (a bank takes at most two). */
  searchAccounts: roles('supervisor', 'auditor', 'calltaker'),
  readStats: roles('supervisor', 'auditor'),
  readNotifications: roles('supervisor'),
  audit: roles('auditor'),
  administer: roles('admin'),
} as const satisfies Record<string, readonly Role[]>;

export const hasRole = (held: readonly Role[], allowed: readonly Role[]) => allowed.some((role) => held.includes(role));
