/**
 * The rules of the fields people fill in, defined once: the JSON API's schemas are built from them
 * (so the OpenAPI document shows them), and the services check what any entry point hands them (the
 * console's forms included) against the same definitions.
 */
import { Type } from 'typebox';
import { Value } from 'typebox/value';
import type { StopPaymentInput } from '#domain/stop-payment.js';
import { invalidField, Refusal, type FieldError } from '#domain/refusal.js';

/** Client-given IDs, API.md conventions. */
export const ClientId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: '1-64 letters, digits, _ or -' });
export const Phone = Type.String({ pattern: '^1[3-9][0-9]{9}$', description: 'mainland mobile number' });
export const AmountFen = Type.Integer({
  minimum: 1,
  maximum: 10_000_000_000_000,
  description: 'integer fen (1 CNY = 100 fen)',
});
export const IsoTime = Type.String({
  format: 'date-time',
  description: 'ISO-8601 with offset, from 2000 to at most a day from now',
});

/** The earliest and latest a date given to the center may be: nothing it handles is older, nor a day ahead. */
const EARLIEST = Date.parse('2000-01-01T00:00:00Z');
const AHEAD_MS = 86_400_000;

/** A date-time (already of the right format) refused by field when before 2000 or more than a day ahead. */
export function saneTime(value: string, pointer: string, where: FieldError['in'] = 'body'): string {
  const at = Date.parse(value);
  if (!(at >= EARLIEST && at <= Date.now() + AHEAD_MS))
    throw invalidField(pointer, 'must be a date from 2000-01-01 to at most a day from now', where);
  return value;
}

export const TransferSchema = Type.Object(
  {
    bank: Type.String({ minLength: 1, maxLength: 64 }),
    account: Type.String({ pattern: '^[0-9]{6,32}$', description: '6-32 digits' }),
    accountName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    amountFen: AmountFen,
    transferredAt: IsoTime,
  },
  { additionalProperties: false },
);

/** What the 110 call-taker files. */
export const StopPaymentInputSchema = Type.Object(
  {
    reportedAt: IsoTime,
    caseRef: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    alertId: Type.Optional(ClientId),
    victim: Type.Object(
      { name: Type.String({ minLength: 1, maxLength: 100 }), phone: Phone },
      { additionalProperties: false },
    ),
    transfers: Type.Array(TransferSchema, { minItems: 1, maxItems: 50 }),
  },
  { additionalProperties: false },
);

/** Refuses a filing that breaks a field rule, naming each field by its JSON pointer. */
export function checkFiling(input: unknown): asserts input is StopPaymentInput {
  if (Value.Check(StopPaymentInputSchema, input)) {
    saneTime(input.reportedAt, '/reportedAt');
    input.transfers.forEach((t, i) => saneTime(t.transferredAt, `/transfers/${i}/transferredAt`));
    return;
  }
  const errors: FieldError[] = [...Value.Errors(StopPaymentInputSchema, input)].map((e) => ({
    pointer: e.instancePath,
    in: 'body',
    detail: e.message,
  }));
  throw new Refusal(
    'validation_failed',
    `Fix these fields: ${errors.map((e) => `${e.pointer} ${e.detail}`).join('; ')}`,
    errors,
  );
}

/** A required free text (a reason, a document reference): refused by field when blank or too long. */
export function requiredText(value: string, pointer: string, max: number): string {
  if (!value.trim() || value.length > max) throw invalidField(pointer, `must be 1-${max} characters, not blank`);
  return value;
}

/** An ID of the center's own (a station code, an alert ID): refused by field unless it is 1-64 letters, digits, _ or -. */
export function clientId(value: string, pointer: string): string {
  if (!Value.Check(ClientId, value)) throw invalidField(pointer, 'must be 1-64 letters, digits, _ or -');
  return value;
}

/** An amount at risk in fen, as the JSON API's schema allows it: a whole number from 0. */
export function amountAtRisk(fen: number | undefined): number | undefined {
  if (fen !== undefined && !(Number.isSafeInteger(fen) && fen >= 0 && fen <= 10_000_000_000_000))
    throw invalidField('/amountAtRiskFen', 'must be a whole number of fen from 0 (yuan with at most two decimals)');
  return fen;
}
