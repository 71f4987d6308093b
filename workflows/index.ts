export { AlertWorkflow } from './alert.js';
