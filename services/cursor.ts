/** Opaque list cursors: clients pass back `nextCursor`; a tampered one is refused naming the parameter. */
import { invalidField } from '#domain/refusal.js';

export const encodeCursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export function decodeCursor<T>(cursor: string | undefined, isValid: (v: unknown) => v is T): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (isValid(value)) return value;
  } catch {
    // refused below
  }
  throw invalidField(
    '/cursor',
    'is not a cursor this API returned; pass nextCursor from a previous page',
    'querystring',
  );
}

/** A positive integer row ID as a cursor (newest first lists). */
export const isIdCursor = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
