/**
 * The bank gateway simulator (API.md "Bank gateway and its simulator"): the gateway routes the worker
 * calls, plus control routes to seed accounts, inject faults and read what was received. State lives in
 * the plugin instance (or a state passed in), never in module globals, so each app or test has its own.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
// Type-only: brings the `config.rateLimit` route option into scope.
import type {} from '@fastify/rate-limit';
import { Type, type Static } from 'typebox';
import type { BankAction, BankActionAnswer, BankInstruction, OnwardTransfer, StopAnswer } from '#domain/bank.js';

/** An answer of the simulated bank that is not a success, sent as RFC 9457 problem+json with a machine code. */
class BankRefusal extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: 'validation_failed' | 'not_found' | 'conflict' | 'unavailable',
    message: string,
    readonly errors?: { pointer: string; in: 'body'; detail: string }[],
  ) {
    super(message);
  }
}

const ProblemSchema = Type.Object(
  { type: Type.String(), title: Type.String(), status: Type.Integer(), detail: Type.String(), code: Type.String() },
  { description: 'RFC 9457 problem details', additionalProperties: true },
);

const Bank = Type.String({ minLength: 1, maxLength: 64 });
const Account = Type.String({ pattern: '^[0-9]{6,32}$', description: '6-32 digits' });
const Fen = Type.Integer({ minimum: 1, maximum: 10_000_000_000_000, description: 'integer fen' });

const InstructionSchema = Type.Object(
  {
    instructionId: Type.String({ minLength: 1, maxLength: 200 }),
    bank: Bank,
    account: Account,
    amountFen: Type.Optional(Fen),
    legalDocRef: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

const OnwardSchema = Type.Object({ bank: Bank, account: Account, amountFen: Fen }, { additionalProperties: false });

const StopAnswerSchema = Type.Object({
  status: Type.Enum(['stopped', 'partial', 'empty', 'not_found']),
  stoppedFen: Type.Integer({ minimum: 0 }),
  onward: Type.Array(OnwardSchema),
});

const ActionAnswerSchema = Type.Object({
  status: Type.Enum(['frozen', 'renewed', 'released', 'not_found']),
  amountFen: Type.Optional(Type.Integer({ minimum: 0 })),
});

const SeedSchema = Type.Object(
  {
    bank: Bank,
    account: Account,
    balanceFen: Type.Integer({ minimum: 0, maximum: 10_000_000_000_000 }),
    onward: Type.Optional(Type.Array(OnwardSchema, { maxItems: 1000 })),
    exists: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const AccountSchema = Type.Object({
  bank: Type.String(),
  account: Type.String(),
  balanceFen: Type.Integer(),
  onward: Type.Array(OnwardSchema),
  exists: Type.Boolean(),
});

const FaultsSchema = Type.Object(
  {
    failNext: Type.Integer({ minimum: 0, maximum: 10_000 }),
    latencyMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 })),
  },
  { additionalProperties: false },
);

const LedgerEntrySchema = Type.Object({
  seq: Type.Integer(),
  at: Type.String(),
  action: Type.Enum(['stop-payments', 'freezes', 'renewals', 'releases']),
  instructionId: Type.String(),
  bank: Type.String(),
  account: Type.String(),
  amountFen: Type.Optional(Type.Integer()),
  legalDocRef: Type.Optional(Type.String()),
  outcome: Type.Enum(['applied', 'replayed', 'failed', 'conflict']),
  answer: Type.Optional(Type.Union([StopAnswerSchema, ActionAnswerSchema])),
});

export interface SimAccount {
  bank: string;
  account: string;
  balanceFen: number;
  onward: OnwardTransfer[];
  exists: boolean;
}

export type BankAnswer = StopAnswer | BankActionAnswer;

export interface LedgerEntry extends BankInstruction {
  seq: number;
  at: string;
  action: BankAction;
  /**
   * applied: first time, had its effect; replayed: same instruction ID and body, first answer returned;
   * failed: an injected fault (503, no effect); conflict: same instruction ID with another body (409).
   */
  outcome: 'applied' | 'replayed' | 'failed' | 'conflict';
  answer?: BankAnswer;
}

export interface BankSimulatorState {
  accounts: Map<string, SimAccount>;
  /** First answer per instruction ID, with what was asked, so a retry gets the same answer and no second effect. */
  answers: Map<string, { action: BankAction; instruction: BankInstruction; answer: BankAnswer }>;
  ledger: LedgerEntry[];
  faults: { failNext: number; latencyMs: number };
}

export function createBankSimulatorState(): BankSimulatorState {
  return { accounts: new Map(), answers: new Map(), ledger: [], faults: { failNext: 0, latencyMs: 0 } };
}

export interface BankSimulatorOptions {
  /** Share state with the caller (e.g. to inspect it); a fresh one per registration otherwise. */
  state?: BankSimulatorState;
  /** Most accounts, remembered answers and ledger entries kept; the oldest go first (default 100,000 / 100,000 / 10,000). */
  limits?: { accounts?: number; answers?: number; ledger?: number };
  /** Requests a minute from one address (default 6,000): a demo's worker, not a flood. */
  rateLimitPerMinute?: number;
}

/** Keeps a map to its newest `max` entries (a Map iterates in insertion order). */
function bound<K, V>(map: Map<K, V>, max: number) {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}

const accountKey = (bank: string, account: string) => `${bank}\u0000${account}`;

const sameInstruction = (a: BankInstruction, b: BankInstruction) =>
  a.bank === b.bank && a.account === b.account && a.amountFen === b.amountFen && a.legalDocRef === b.legalDocRef;

const ACTION_STATUS = { freezes: 'frozen', renewals: 'renewed', releases: 'released' } as const;

/** The effect of a first-time instruction: only stop-payments move money in the simulator. */
function apply(state: BankSimulatorState, action: BankAction, instr: BankInstruction): BankAnswer {
  const account = state.accounts.get(accountKey(instr.bank, instr.account));
  if (action === 'stop-payments') {
    const asked = instr.amountFen!;
    if (!account) return { status: 'stopped', stoppedFen: asked, onward: [] };
    if (!account.exists) return { status: 'not_found', stoppedFen: 0, onward: [] };
    const held = Math.min(account.balanceFen, asked);
    account.balanceFen -= held;
    const status = held >= asked ? 'stopped' : held > 0 ? 'partial' : 'empty';
    return { status, stoppedFen: held, onward: account.onward.map((o) => ({ ...o })) };
  }
  if (account && !account.exists) return { status: 'not_found' };
  return instr.amountFen === undefined
    ? { status: ACTION_STATUS[action] }
    : { status: ACTION_STATUS[action], amountFen: instr.amountFen };
}

const bankSimulator: FastifyPluginAsyncTypebox<BankSimulatorOptions> = async (app, options) => {
  const state = options.state ?? createBankSimulatorState();
  // Public by design (served only when asked for: the embedded demo, FANZHA_BANK_SIMULATOR=1), bounded in
  // what it remembers, and throttled per address (and route) with a budget a demo's worker never reaches.
  const limits = { accounts: 100_000, answers: 100_000, ledger: 10_000, ...options.limits };
  let recorded = 0;
  const config = { public: true, rateLimit: { max: options.rateLimitPerMinute ?? 6000, timeWindow: 60_000 } };
  const tags = ['bank simulator'];

  // Its own refusals only; anything else (a bad body, a rate limit) goes on to the app's handler.
  app.setErrorHandler((error, _request, reply) => {
    if (!(error instanceof BankRefusal)) throw error;
    const { statusCode: status, code, message: detail, errors } = error;
    return reply
      .status(status)
      .type('application/problem+json')
      .send({
        type: `https://fanzha.example/problems/${code.replace(/_/g, '-')}`,
        title: code,
        status,
        detail,
        code,
        ...(errors ? { errors } : {}),
      });
  });
  // No bearer token in the OpenAPI document either.
  const security: never[] = [];

  function record(action: BankAction, instr: BankInstruction, outcome: LedgerEntry['outcome'], answer?: BankAnswer) {
    const entry: LedgerEntry = {
      seq: ++recorded,
      at: new Date().toISOString(),
      action,
      ...instr,
      outcome,
    };
    if (answer) entry.answer = answer;
    state.ledger.push(entry);
    if (state.ledger.length > limits.ledger) state.ledger.splice(0, state.ledger.length - limits.ledger);
  }

  async function handle(action: BankAction, body: Static<typeof InstructionSchema>): Promise<BankAnswer> {
    const instr: BankInstruction = { instructionId: body.instructionId, bank: body.bank, account: body.account };
    if (body.amountFen !== undefined) instr.amountFen = body.amountFen;
    if (body.legalDocRef !== undefined) instr.legalDocRef = body.legalDocRef;
    // A stop-payment without an amount has no defined meaning in the contract: refuse it rather than guess.
    if (action === 'stop-payments' && instr.amountFen === undefined)
      throw new BankRefusal(400, 'validation_failed', '/amountFen is required for a stop-payment', [
        { pointer: '/amountFen', in: 'body', detail: 'is required for a stop-payment' },
      ]);

    if (state.faults.latencyMs > 0) await sleep(state.faults.latencyMs);
    // Everything below is synchronous, so concurrent calls with one instruction ID cannot both apply.
    if (state.faults.failNext > 0) {
      state.faults.failNext -= 1;
      record(action, instr, 'failed');
      throw new BankRefusal(
        503,
        'unavailable',
        'The bank gateway is unavailable (injected fault); nothing was applied, retry later.',
      );
    }
    const previous = state.answers.get(instr.instructionId);
    if (previous) {
      if (previous.action !== action || !sameInstruction(previous.instruction, instr)) {
        record(action, instr, 'conflict');
        throw new BankRefusal(
          409,
          'conflict',
          `Instruction ${instr.instructionId} was already received with a different action or body; instruction IDs are single-use.`,
        );
      }
      record(action, instr, 'replayed', previous.answer);
      return previous.answer;
    }
    const answer = apply(state, action, instr);
    state.answers.set(instr.instructionId, { action, instruction: instr, answer });
    bound(state.answers, limits.answers);
    record(action, instr, 'applied', answer);
    return answer;
  }

  const gatewayErrors = { 400: ProblemSchema, 409: ProblemSchema, 503: ProblemSchema };

  app.post(
    '/gateway/stop-payments',
    {
      config,
      schema: { tags, security, body: InstructionSchema, response: { 200: StopAnswerSchema, ...gatewayErrors } },
    },
    async (request) => (await handle('stop-payments', request.body)) as StopAnswer,
  );
  for (const action of ['freezes', 'renewals', 'releases'] as const) {
    app.post(
      `/gateway/${action}`,
      {
        config,
        schema: { tags, security, body: InstructionSchema, response: { 200: ActionAnswerSchema, ...gatewayErrors } },
      },
      async (request) => (await handle(action, request.body)) as BankActionAnswer,
    );
  }

  app.post(
    '/accounts',
    { config, schema: { tags, security, body: SeedSchema, response: { 201: AccountSchema, 400: ProblemSchema } } },
    async (request, reply) => {
      const { bank, account, balanceFen, onward = [], exists = true } = request.body;
      const seeded: SimAccount = { bank, account, balanceFen, onward: onward.map((o) => ({ ...o })), exists };
      state.accounts.set(accountKey(bank, account), seeded);
      bound(state.accounts, limits.accounts);
      return reply.status(201).send(seeded);
    },
  );

  // Lets a test (or a person) check a balance after stops, e.g. that a retried stop held money once.
  app.get(
    '/accounts/:bank/:account',
    {
      config,
      schema: {
        tags,
        security,
        params: Type.Object({ bank: Bank, account: Account }),
        response: { 200: AccountSchema, 400: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (request) => {
      const found = state.accounts.get(accountKey(request.params.bank, request.params.account));
      if (!found)
        throw new BankRefusal(
          404,
          'not_found',
          'This account was never seeded; the simulated bank holds whatever is asked of it.',
        );
      return found;
    },
  );

  app.post(
    '/faults',
    { config, schema: { tags, security, body: FaultsSchema, response: { 200: FaultsSchema, 400: ProblemSchema } } },
    async (request) => {
      // Each call replaces both settings: omitting latencyMs resets it to none.
      state.faults = { failNext: request.body.failNext, latencyMs: request.body.latencyMs ?? 0 };
      return { ...state.faults };
    },
  );

  app.get(
    '/ledger',
    {
      config,
      schema: {
        tags,
        security,
        // `since`: only instructions received at or after it (what a restore asks: what did the banks get after the backup).
        querystring: Type.Object({ since: Type.Optional(Type.String({ format: 'date-time' })) }),
        response: { 200: Type.Object({ items: Type.Array(LedgerEntrySchema) }), 400: ProblemSchema },
      },
    },
    async (request) => {
      const since = request.query.since;
      if (!since) return { items: state.ledger };
      const from = Date.parse(since);
      return { items: state.ledger.filter((entry) => Date.parse(entry.at) >= from) };
    },
  );
};

export default bankSimulator;
