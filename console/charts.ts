/**
 * Charts drawn on the server as SVG with Observable Plot (on linkedom's document): no script in the
 * browser, nothing to load from elsewhere. A chart is one image with a name and a description (its
 * marks hidden from screen readers); the page shows the same figures as a table whose rows link to the
 * list each bar counts.
 */
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';

export interface Bar {
  label: string;
  value: number;
  /** The list this bar counts (linked from the chart's table). */
  href?: string;
}

/** One image for assistive technology: named and described on the svg, its parts hidden. */
const svgOf = (chart: unknown) => (chart as { outerHTML: string }).outerHTML.replace(/^<svg /, '<svg role="img" ');
const hidden = { ariaHidden: 'true' } as const;

/** Horizontal bars, one per label, largest first as given. */
export function barChart(bars: Bar[], options: { title: string; unit: string }): string {
  const { document } = parseHTML('<!doctype html><html><body></body></html>');
  const height = Math.max(80, 28 * bars.length + 40);
  return svgOf(
    Plot.plot({
      document: document as unknown as Document,
      ariaLabel: options.title,
      ariaDescription: bars.map((b) => `${b.label}: ${b.value} ${options.unit}`).join('; '),
      width: 640,
      height,
      marginLeft: 200,
      // At least 0..1: a chart of zeros stays a chart of zeros, not bars across the page.
      x: { grid: true, label: options.unit, domain: [0, Math.max(1, ...bars.map((b) => b.value))] },
      y: { label: null, domain: bars.map((b) => b.label) },
      style: { fontSize: '13px', fontFamily: "'Noto Sans CJK SC', sans-serif" },
      marks: [
        Plot.barX(bars, { x: 'value', y: 'label', fill: '#0b5cad', ...hidden }),
        Plot.text(bars, {
          x: 'value',
          y: 'label',
          text: (b: Bar) => String(b.value),
          dx: 14,
          fill: 'currentColor',
          ...hidden,
        }),
        Plot.ruleX([0], hidden),
      ],
    }),
  );
}

/** Counts over time, one column per bucket (an hour or a day; times are the center's, written as UTC). */
export function timeChart(
  points: { at: string; value: number }[],
  options: { title: string; unit: string; interval: 'hour' | 'day' },
): string {
  const { document } = parseHTML('<!doctype html><html><body></body></html>');
  const data = points.map((p) => ({ ...p, date: new Date(`${p.at}:00Z`) }));
  return svgOf(
    Plot.plot({
      document: document as unknown as Document,
      ariaLabel: options.title,
      ariaDescription: points.map((p) => `${p.at}: ${p.value}`).join('; '),
      width: 640,
      height: 240,
      x: { type: 'utc', label: null },
      y: { grid: true, label: options.unit, domain: [0, Math.max(1, ...points.map((p) => p.value))] },
      style: { fontSize: '12px' },
      marks: [
        Plot.rectY(data, {
          x: 'date',
          y: 'value',
          interval: options.interval,
          fill: '#0b5cad',
          ...hidden,
        }),
        Plot.ruleY([0], hidden),
      ],
    }),
  );
}
