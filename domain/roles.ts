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
