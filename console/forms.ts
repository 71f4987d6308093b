/** What the console's form handlers share: the posted fields, amounts typed in yuan, times typed in the center's zone, and the answer to an action. */
import { isRefusal, REFUSAL_STATUS } from '#domain/refusal.js';
import { sayRefusal, type Translate } from './i18n.js';

/** A posted form, field by field (formbody gives strings; a field left out is undefined). */
export type Form = Record<string, string | undefined>;

/**
 * Yuan as typed ("12.5") to fen; undefined when left blank, NaN when it is no amount of yuan with at
 * most two decimals — the service's field rule then refuses it by name.
 */
export function fenFromYuan(yuan: string | undefined): number | undefined {
  const text = (yuan ?? '').trim();
  if (!text) return undefined;
  if (!/^\d{1,11}(\.\d{1,2})?$/.test(text)) return Number.NaN;
  const [whole, cents = ''] = text.split('.');
  return Number(whole) * 100 + Number(cents.padEnd(2, '0'));
}

/** `2026-12-02T09:40` typed in the center's zone, as ISO-8601 with that zone's offset then. */
export function zonedIso(local: string, zone: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local.trim());
  if (!match) return local;
  const [, y, mo, d, h, mi, s = '00'] = match;
  const asUtc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const offsetName = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
    .formatToParts(new Date(asUtc))
    .find((p) => p.type === 'timeZoneName')?.value;
  const offset = offsetName === 'GMT' || !offsetName ? '+00:00' : offsetName.replace('GMT', '');
  return `${y}-${mo}-${d}T${h}:${mi}:${s}${offset}`;
}

/** Now, as a `datetime-local` value in the center's zone. */
export function localNow(zone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hour12: false,
    })
      .formatToParts(new Date())
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour === '24' ? '00' : parts.hour}:${parts.minute}`;
}

/** What an action left to say, and the status it answers with: done, or the refusal in the reader's words. */
export interface Said {
  kind: 'error' | 'info';
  text: string;
}

/**
 * Runs a person's action: done, it says `done`; refused by a service, it says why (in the reader's
 * words) with the refusal's status. Anything else — and a lost session — goes on to the error handler.
 */
export async function attempt(
  run: () => Promise<unknown>,
  done: string,
  t: Translate,
): Promise<{ said: Said; status: number }> {
  try {
    await run();
    return { said: { kind: 'info', text: done }, status: 200 };
  } catch (error) {
    if (!isRefusal(error) || error.code === 'unauthenticated') throw error;
    return { said: { kind: 'error', text: sayRefusal(error, t) }, status: REFUSAL_STATUS[error.code] };
  }
}
