/**
 * What the banks were told after a backup was taken: decisions after it are lost with the restore,
 * but a bank that already stopped, froze or released money keeps it so. The restore lists those
 * instructions from the gateway's ledger (GET <gateway>/ledger?since=…, which the bank simulator
 * serves; a gateway without one is said to have none), so the officers can check them against the
 * restored cases. The restored hold workflows resend their own instructions under the same IDs.
 */

/** One instruction as the gateway's ledger records it (the bank simulator's LedgerEntry). */
export interface LedgerInstruction {
  at: string;
  action: string;
  instructionId: string;
  bank: string;
  account: string;
  amountFen?: number;
  outcome: string;
}

export type InstructionsAfter = { known: true; instructions: LedgerInstruction[] } | { known: false; why: string };

/** The instructions the gateway applied at or after `since` (retries and refusals left out: they changed nothing). */
export async function instructionsAppliedSince(gatewayUrl: string, since: string): Promise<InstructionsAfter> {
  const url = `${gatewayUrl.replace(/\/$/, '')}/ledger?since=${encodeURIComponent(since)}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  } catch (error) {
    return { known: false, why: `the bank gateway did not answer (${(error as Error).message})` };
  }
  if (response.status === 404) return { known: false, why: 'the bank gateway keeps no ledger to ask' };
  if (!response.ok) return { known: false, why: `the bank gateway's ledger answered ${response.status}` };
  let items: unknown;
  try {
    items = ((await response.json()) as { items?: unknown }).items;
  } catch (error) {
    return { known: false, why: `the bank gateway's ledger could not be read (${(error as Error).message})` };
  }
  if (!Array.isArray(items)) return { known: false, why: "the bank gateway's ledger answered no list of instructions" };
  const from = Date.parse(since);
  return {
    known: true,
    instructions: (items as LedgerInstruction[]).filter(
      (entry) => entry?.outcome === 'applied' && Date.parse(entry.at) >= from,
    ),
  };
}

/** One line for an operator: the account shown by its last four digits only. */
export const describeInstruction = (entry: LedgerInstruction) =>
  `${entry.at} ${entry.action} ${entry.instructionId} (${entry.bank} …${entry.account.slice(-4)}${entry.amountFen === undefined ? '' : `, ${(entry.amountFen / 100).toFixed(2)} CNY`})`;

/**
 * What a restore from a backup taken at `takenAt` cannot bring back, said a line each: the decisions
 * after it, the platform's warnings since it (to be pushed again), and what the banks applied after it.
 */
export async function sayWhatTheRestoreLacks(
  gatewayUrl: string | null,
  takenAt: string,
  say: (line: string) => void,
  simulatorWhere: string,
): Promise<void> {
  say(
    `decisions after ${takenAt} are lost; the platform must re-push alerts from ${takenAt} (its warnings since then are not here)`,
  );
  await sayInstructionsAppliedSince(gatewayUrl, takenAt, say, simulatorWhere);
}

/**
 * Says, a line each, what the banks applied after `takenAt` (money stopped, frozen or released that the
 * restored cases may not know of), or why it cannot be listed: without a gateway (`gatewayUrl` null) the
 * bank simulator's ledger went with its process (`simulatorWhere` says which).
 */
export async function sayInstructionsAppliedSince(
  gatewayUrl: string | null,
  takenAt: string,
  say: (line: string) => void,
  simulatorWhere: string,
): Promise<void> {
  if (!gatewayUrl) {
    say(
      `no BANK_GATEWAY_URL: the bank simulator kept its ledger in ${simulatorWhere}, so no bank instructions after the backup can be listed`,
    );
    return;
  }
  const after = await instructionsAppliedSince(gatewayUrl, takenAt);
  if (!after.known) {
    say(`bank instructions sent after ${takenAt} cannot be listed: ${after.why}; ask the banks for them`);
    return;
  }
  say(
    `the banks applied ${after.instructions.length} instruction(s) after ${takenAt}; check each against the restored case (its hold resends it under the same ID, and the bank answers as before):`,
  );
  for (const entry of after.instructions) say(`  ${describeInstruction(entry)}`);
}
