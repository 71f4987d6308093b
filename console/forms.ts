/** What the console's form handlers share: the posted fields, and amounts typed in yuan. */

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
