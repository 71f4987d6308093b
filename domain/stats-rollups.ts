/**
 * The arithmetic of the statistics' rollups (db/migrations/0009_stats_rollups.sql keeps them): which whole
 * months, days and hours (UTC) a period is made of, and quantiles from a DDSketch-style log histogram.
 */

/** Coarsest first: a period takes whole months, then whole days, then whole hours at its edges. */
export const GRAINS = ['month', 'day', 'hour'] as const;
export type Grain = (typeof GRAINS)[number];

const HOUR = 3_600_000;

function floorTo(grain: Grain, t: number): number {
  const d = new Date(t);
  if (grain === 'month') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth());
  if (grain === 'day') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  return Math.floor(t / HOUR) * HOUR;
}

function ceilTo(grain: Grain, t: number): number {
  const floor = floorTo(grain, t);
  if (floor === t) return t;
  const d = new Date(floor);
  if (grain === 'month') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1);
  if (grain === 'day') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
  return floor + HOUR;
}

export interface Span {
  from: Date;
  to: Date;
}

/**
 * [from, to) as rollup buckets — per grain, the buckets starting in [from, to) — and the partial hours at
 * its edges, which are read from the rows: added (sign 1), or, when the period holds most of that hour,
 * the hour's rollup less the rows of the rest of it (sign −1). So a period that ends now reads its last
 * hour from the rollup less the nothing that comes after now, however busy that hour was. A year is at
 * most 11 months, 60 days, 48 hours and four short spans of rows, however many alerts it holds.
 */
export function periodPieces(
  from: Date,
  to: Date,
  /** Rows come no later than now: the part of an hour after it holds next to nothing to read. */
  now = new Date(8.64e15),
): { rollups: (Span & { grain: Grain })[]; edges: (Span & { sign: 1 | -1 })[] } {
  const rollups: (Span & { grain: Grain })[] = [];
  const edges: (Span & { sign: 1 | -1 })[] = [];
  const split = (start: number, end: number, level: number) => {
    if (start >= end) return;
    const grain = GRAINS[level];
    if (!grain) {
      // Within one hour: whichever reads fewer rows, the span itself or the rest of its hour (up to now).
      const hour = floorTo('hour', start);
      const rest = start - hour + Math.max(0, Math.min(now.getTime(), hour + HOUR) - end);
      if (rest >= end - start) {
        edges.push({ from: new Date(start), to: new Date(end), sign: 1 });
        return;
      }
      rollups.push({ grain: 'hour', from: new Date(hour), to: new Date(hour + HOUR) });
      if (start > hour) edges.push({ from: new Date(hour), to: new Date(start), sign: -1 });
      if (end < hour + HOUR) edges.push({ from: new Date(end), to: new Date(hour + HOUR), sign: -1 });
      return;
    }
    const first = ceilTo(grain, start);
    const last = floorTo(grain, end);
    if (first >= last) return split(start, end, level + 1);
    split(start, first, level + 1);
    rollups.push({ grain, from: new Date(first), to: new Date(last) });
    split(last, end, level + 1);
  };
  split(from.getTime(), to.getTime(), 0);
  return { rollups, edges };
}

/** Relative accuracy of the duration sketches: γ = (1 + α) / (1 − α), as in the migration's stats_sketch_key. */
export const SKETCH_ACCURACY = 0.01;
const GAMMA = (1 + SKETCH_ACCURACY) / (1 - SKETCH_ACCURACY);

/**
 * The duration a sketch key stands for: key i holds (γ^(i−1), γ^i] seconds, and 2γ^i / (γ + 1) is within
 * α of every one of them; 'zero' holds zero and less.
 */
export const sketchValue = (key: string) => (key === 'zero' ? 0 : (2 * GAMMA ** Number(key)) / (GAMMA + 1));

/**
 * The median and p90 of a sketch (key → count) by the rule of `percentile_cont`: linear interpolation
 * between the values at ranks ⌊q(n−1)⌋ and ⌈q(n−1)⌉. Each value is within α of the exact one, so the
 * answer is too (for durations ≥ 0). Null when the sketch is empty.
 */
export function sketchQuantiles(counts: Map<string, number>): { median: number | null; p90: number | null } {
  const buckets = [...counts]
    .filter(([, n]) => n > 0)
    .map(([key, n]) => ({ value: sketchValue(key), n }))
    .sort((a, b) => a.value - b.value);
  const total = buckets.reduce((sum, b) => sum + b.n, 0);
  if (total === 0) return { median: null, p90: null };
  const valueAt = (rank: number) => {
    let seen = 0;
    for (const b of buckets) {
      seen += b.n;
      if (rank < seen) return b.value;
    }
    return buckets.at(-1)!.value;
  };
  const quantile = (q: number) => {
    const rank = q * (total - 1);
    const low = valueAt(Math.floor(rank));
    return low + (valueAt(Math.ceil(rank)) - low) * (rank - Math.floor(rank));
  };
  return { median: quantile(0.5), p90: quantile(0.9) };
}
