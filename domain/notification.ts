/** A notification as a workflow asks for it; the outbox row adds the case it belongs to. */
export interface NotificationDraft {
  /** The step (projection seq) that caused it: with the workflow ID, makes the outbox write idempotent. */
  seq: number;
  recipientRole: 'supervisor' | 'center_head' | 'criminal_squad' | 'senior_approver' | 'approver';
  recipientUserId?: string;
  kind: string;
  message: string;
  payload: Record<string, unknown>;
}
