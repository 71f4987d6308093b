/** Durations in policy files: "90s", "5m", "48h", "180d", "250ms", or a number of milliseconds. */
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

export function parseDuration(value: unknown): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value > 0) return value;
    throw new Error(`must be a positive whole number of milliseconds (got ${value})`);
  }
  if (typeof value === 'string') {
    const match = DURATION.exec(value.trim());
    if (match) {
      const ms = Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
      if (ms > 0) return ms;
    }
  }
  throw new Error(`must be a duration like "90s", "5m", "48h", "180d" or milliseconds (got ${JSON.stringify(value)})`);
}

export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
