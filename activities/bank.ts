/** Bank instructions as activities: thin, so the gateway client's error sorting drives Temporal's retries. */
import { Context } from '@temporalio/activity';
import type { BankInstruction } from '#domain/bank.js';
import type { BankGateway } from './bank-gateway.js';

export function createBankActivities({ bankGateway }: { bankGateway: BankGateway }) {
  const options = () => ({ signal: Context.current().cancellationSignal });
  return {
    stopAtBank: (instruction: BankInstruction) => bankGateway.stopPayment(instruction, options()),
    freezeAtBank: (instruction: BankInstruction) => bankGateway.freeze(instruction, options()),
    renewAtBank: (instruction: BankInstruction) => bankGateway.renew(instruction, options()),
    releaseAtBank: (instruction: BankInstruction) => bankGateway.release(instruction, options()),
  };
}

export type BankActivities = ReturnType<typeof createBankActivities>;
