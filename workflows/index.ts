export { AlertWorkflow } from './alert.js';
export { ArchiverWorkflow } from './archiver.js';
export { HoldWorkflow } from './hold.js';
export { StopPaymentWorkflow } from './stop-payment.js';
export { BackupWorkflow } from './backup.js';
