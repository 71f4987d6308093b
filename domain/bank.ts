/** The bank gateway contract (API.md "Bank gateway and its simulator"), shared by the client and the simulator. */

export interface BankInstruction {
  /** Stable across retries: the bank applies one instruction ID once. */
  instructionId: string;
  bank: string;
  account: string;
  amountFen?: number;
  legalDocRef?: string;
}

export interface OnwardTransfer {
  bank: string;
  account: string;
  amountFen: number;
}

export type StopStatus = 'stopped' | 'partial' | 'empty' | 'not_found';

export interface StopAnswer {
  status: StopStatus;
  stoppedFen: number;
  onward: OnwardTransfer[];
}

/** Freezes, renewals and releases. */
export interface BankActionAnswer {
  status: 'frozen' | 'renewed' | 'released' | 'not_found';
  /** Amount the action applies to (frozen or released), when the bank says. */
  amountFen?: number;
}

export type BankAction = 'stop-payments' | 'freezes' | 'renewals' | 'releases';
