/** The arithmetic of the statistics' rollups: how a period splits into buckets, and quantiles from a sketch. */
import { describe, expect, it } from 'vitest';
import { periodPieces, SKETCH_ACCURACY, sketchQuantiles, sketchValue } from '#domain/stats-rollups.js';

const span = (from: string, to: string) => ({ from: new Date(from), to: new Date(to) });

describe('periodPieces', () => {
  it('takes whole months, then whole days, then whole hours, and a partial hour from the rows or from its rollup less the rest of it', () => {
    const { rollups, edges } = periodPieces(new Date('2026-03-23T10:47:00Z'), new Date('2026-05-19T15:42:00Z'));
    expect(rollups).toEqual([
      { grain: 'hour', ...span('2026-03-23T11:00:00Z', '2026-03-24T00:00:00Z') },
      { grain: 'day', ...span('2026-03-24T00:00:00Z', '2026-04-01T00:00:00Z') },
      { grain: 'month', ...span('2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z') },
      { grain: 'day', ...span('2026-05-01T00:00:00Z', '2026-05-19T00:00:00Z') },
      { grain: 'hour', ...span('2026-05-19T00:00:00Z', '2026-05-19T15:00:00Z') },
      { grain: 'hour', ...span('2026-05-19T15:00:00Z', '2026-05-19T16:00:00Z') },
    ]);
    expect(edges).toEqual([
      // 13 minutes of the hour: read from the rows.
      { ...span('2026-03-23T10:47:00Z', '2026-03-23T11:00:00Z'), sign: 1 },
      // 42 minutes of the hour (a period ending now): the hour's rollup less the rows after its end.
      { ...span('2026-05-19T15:42:00Z', '2026-05-19T16:00:00Z'), sign: -1 },
    ]);
  });

  it('reads a short span inside one hour from the rows, a long one as the hour less the rest, and an aligned period from the rollups alone', () => {
    expect(periodPieces(new Date('2026-01-10T10:05:00Z'), new Date('2026-01-10T10:20:00Z'))).toEqual({
      rollups: [],
      edges: [{ ...span('2026-01-10T10:05:00Z', '2026-01-10T10:20:00Z'), sign: 1 }],
    });
    expect(periodPieces(new Date('2026-01-10T10:05:00Z'), new Date('2026-01-10T10:50:00Z'))).toEqual({
      rollups: [{ grain: 'hour', ...span('2026-01-10T10:00:00Z', '2026-01-10T11:00:00Z') }],
      edges: [
        { ...span('2026-01-10T10:00:00Z', '2026-01-10T10:05:00Z'), sign: -1 },
        { ...span('2026-01-10T10:50:00Z', '2026-01-10T11:00:00Z'), sign: -1 },
      ],
    });
    // A period ending (a moment before) now: its last hour from the rollup, less the moment after its end.
    expect(
      periodPieces(new Date('2026-01-10T10:05:00Z'), new Date('2026-01-10T12:10:00Z'), new Date('2026-01-10T12:10:01Z'))
        .edges,
    ).toEqual([
      { ...span('2026-01-10T10:00:00Z', '2026-01-10T10:05:00Z'), sign: -1 },
      { ...span('2026-01-10T12:10:00Z', '2026-01-10T13:00:00Z'), sign: -1 },
    ]);
    expect(periodPieces(new Date('2025-12-01T00:00:00Z'), new Date('2026-02-01T00:00:00Z'))).toEqual({
      rollups: [{ grain: 'month', ...span('2025-12-01T00:00:00Z', '2026-02-01T00:00:00Z') }],
      edges: [],
    });
  });
});

describe('sketchQuantiles', () => {
  const sketchOf = (values: number[]) => {
    const gamma = (1 + SKETCH_ACCURACY) / (1 - SKETCH_ACCURACY);
    const counts = new Map<string, number>();
    for (const v of values) {
      const key = v > 0 ? String(Math.ceil(Math.log(v) / Math.log(gamma))) : 'zero';
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  };
  const exact = (values: number[], q: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    const rank = q * (sorted.length - 1);
    const low = sorted[Math.floor(rank)]!;
    return low + (sorted[Math.ceil(rank)]! - low) * (rank - Math.floor(rank));
  };

  it('answers the median and p90 as percentile_cont does, within the relative accuracy', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 5 * 1.013 ** i);
    const { median, p90 } = sketchQuantiles(sketchOf(values));
    expect(Math.abs(median! - exact(values, 0.5))).toBeLessThanOrEqual(SKETCH_ACCURACY * exact(values, 0.5));
    expect(Math.abs(p90! - exact(values, 0.9))).toBeLessThanOrEqual(SKETCH_ACCURACY * exact(values, 0.9));
  });

  it('keeps zero as zero, and answers nothing for an empty sketch', () => {
    expect(sketchValue('zero')).toBe(0);
    expect(sketchQuantiles(sketchOf([0, 0, 0]))).toEqual({ median: 0, p90: 0 });
    expect(sketchQuantiles(new Map())).toEqual({ median: null, p90: null });
  });
});
