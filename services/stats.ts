/**
 * Statistics of the center for any period [from, to). Alerts count by when they were received, outcomes
 * by when they closed; stop-payments by when they were filed, approvals and rejections by when they were
 * decided. Up to a day is computed exactly in SQL on the read model; a longer period is summed from
 * the hourly, daily and monthly rollups (read-model/stats-rollups.ts) in a time that does not grow with the
 * alerts it holds: counts and sums are the same, medians and p90 within the sketches' 1 %.
 */
import { sql, type SQL } from 'drizzle-orm';
import { selectRows, type Database } from '#db/client.js';
import type { User } from '#db/users.js';
import { invalidField } from '#domain/refusal.js';
import { MAY } from '#domain/roles.js';
import { sketchQuantiles } from '#domain/stats-rollups.js';
import { contributionsBetween, type Contribution } from '#read-model/stats-rollups.js';
import { requireRole } from './decisions.js';
import { saneTime } from './fields.js';

const DAY = 86_400_000;
const MAX_PERIOD = 5 * 366 * DAY;
/**
 * Longer periods are read from the rollups. A day (the default period) of a busy year, 3,000,000 alerts,
 * is about 8,200 alerts: the exact path answers it in about 20 ms, but three days took 55–65 ms.
 */
const EXACT_UP_TO = DAY;

const at = (date: Date) => sql`${date.toISOString()}::timestamptz`;
const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
const seconds = (v: unknown) => (v === null || v === undefined ? null : Math.round(Number(v) * 1000) / 1000);
/** A `percentile_cont(array[0.5, 0.9])` answer: an array (postgres.js, PGlite) or its text form (`{1.5,9}`) when array types are not fetched. */
function quantiles(value: number[] | string | null | undefined): Quantiles {
  const [median, p90] = typeof value === 'string' ? value.replace(/[{}]/g, '').split(',') : (value ?? []);
  return { median: seconds(median), p90: seconds(p90) };
}

interface Quantiles {
  median: number | null;
  p90: number | null;
}
type Dimension = 'byFraudType' | 'byStation' | 'byRiskLevel';
type Breakdowns = Record<Dimension, { key: string; received: number; dissuaded: number; preventedLossFen: number }[]>;

/** What either path finds for a period, before it is shaped into the answer. */
interface Figures {
  received: number;
  previousReceived: number;
  closed: { outcome: string; count: number; amount: number }[];
  breaches: { deadline: string; level: string; count: number }[];
  receiptToFirstCall: Quantiles;
  receiptToClose: Quantiles;
  cases: {
    requested: number;
    approved: number;
    rejected: number;
    majorCases: number;
    requestedFen: number;
    stoppedFen: number;
    frozenFen: number;
    reportToApproval: Quantiles;
    reportToFirstStop: Quantiles;
  };
  breakdown: Breakdowns;
}

/** [from, to), by default the last 24 hours; refused by field when reversed or longer than five years. */
function checkedPeriod(period: { from?: string; to?: string }) {
  const to = period.to ? new Date(period.to) : new Date();
  const from = period.from ? new Date(period.from) : new Date(to.getTime() - DAY);
  if (Number.isNaN(from.getTime())) throw invalidField('/from', 'must be a date and time', 'querystring');
  if (Number.isNaN(to.getTime())) throw invalidField('/to', 'must be a date and time', 'querystring');
  if (period.from) saneTime(period.from, '/from', 'querystring');
  if (period.to) saneTime(period.to, '/to', 'querystring');
  if (from.getTime() >= to.getTime()) throw invalidField('/from', 'must be before to', 'querystring');
  if (to.getTime() - from.getTime() > MAX_PERIOD)
    throw invalidField('/from', 'must be at most five years before to', 'querystring');
  return { from, to };
}

/** The answer of GET /v1/stats from the figures of a period. */
function report(fromDate: Date, toDate: Date, f: Figures) {
  const byOutcome: Record<string, number> = {
    dissuaded: 0,
    defrauded: 0,
    false_positive: 0,
    unreachable: 0,
    cancelled: 0,
  };
  let closedTotal = 0;
  for (const row of f.closed) {
    byOutcome[row.outcome] = row.count;
    closedTotal += row.count;
  }
  const breachesByKind: Record<string, number> = { claim: 0, call: 0, visit: 0, approval: 0 };
  let escalatedToCenterHead = 0;
  for (const row of f.breaches) {
    if (row.level === '1') breachesByKind[row.deadline] = (breachesByKind[row.deadline] ?? 0) + row.count;
    else escalatedToCenterHead += row.count;
  }
  const { received: current, previousReceived: previous, cases } = f;
  return {
    from: fromDate.toISOString(),
    to: toDate.toISOString(),
    alerts: {
      received: current,
      closed: closedTotal,
      closedByOutcome: byOutcome,
      dissuaded: byOutcome.dissuaded ?? 0,
      preventedLossFen: f.closed.find((r) => r.outcome === 'dissuaded')?.amount ?? 0,
      deadlineBreaches: {
        ...breachesByKind,
        total: Object.values(breachesByKind).reduce((a, b) => a + b, 0),
        escalatedToCenterHead,
      },
      receiptToFirstCallSeconds: f.receiptToFirstCall,
      receiptToCloseSeconds: f.receiptToClose,
      previousPeriodReceived: previous,
      receivedChangePercent: previous === 0 ? null : Math.round(((current - previous) / previous) * 1000) / 10,
    },
    stopPayments: {
      requested: cases.requested,
      approved: cases.approved,
      rejected: cases.rejected,
      majorCases: cases.majorCases,
      requestedFen: cases.requestedFen,
      stoppedFen: cases.stoppedFen,
      frozenFen: cases.frozenFen,
      reportToApprovalSeconds: cases.reportToApproval,
      reportToFirstStopSeconds: cases.reportToFirstStop,
    },
    breakdown: f.breakdown,
  };
}

/** The figures from the rollups' contributions (their measures and keys: db/migrations/0009_stats_rollups.sql). */
function figuresOf(found: Contribution[], previousReceived: number): Figures {
  const of = (measure: string) => found.filter((c) => c.measure === measure);
  const one = (measure: string) => of(measure)[0] ?? { n: 0, total: 0 };
  const sketch = (measure: string) => {
    const { median, p90 } = sketchQuantiles(new Map(of(measure).map((c) => [c.key, c.n])));
    return { median: seconds(median), p90: seconds(p90) };
  };
  const breakdown = (dimension: string) => {
    const dissuaded = new Map(of(`dissuaded_${dimension}`).map((c) => [c.key, c]));
    return of(dimension).map((c) => ({
      key: c.key,
      received: c.n,
      dissuaded: dissuaded.get(c.key)?.n ?? 0,
      preventedLossFen: dissuaded.get(c.key)?.total ?? 0,
    }));
  };
  return {
    received: one('received').n,
    previousReceived,
    closed: of('closed').map((c) => ({ outcome: c.key, count: c.n, amount: c.total })),
    breaches: of('breaches').map((c) => {
      const colon = c.key.lastIndexOf(':');
      return { deadline: c.key.slice(0, colon), level: c.key.slice(colon + 1), count: c.n };
    }),
    receiptToFirstCall: sketch('call_seconds'),
    receiptToClose: sketch('close_seconds'),
    cases: {
      requested: one('cases_requested').n,
      approved: one('cases_approved').n,
      rejected: one('cases_rejected').n,
      majorCases: one('cases_major').n,
      requestedFen: one('cases_requested').total,
      stoppedFen: one('cases_stopped').total,
      frozenFen: one('cases_frozen').total,
      reportToApproval: sketch('approval_seconds'),
      reportToFirstStop: sketch('stop_seconds'),
    },
    breakdown: {
      byFraudType: breakdown('fraud_type'),
      byStation: breakdown('station'),
      byRiskLevel: breakdown('risk_level'),
    },
  };
}

export function createStatsService(db: Database) {
  const all = <T>(query: SQL) => selectRows<T>(db, query);

  /** One pass for the three breakdowns (grouping sets), each ordered by alerts received. */
  async function breakdowns(from: SQL, to: SQL) {
    const found = await all<{
      dimension: string;
      key: string;
      received: string;
      dissuaded: string;
      prevented: string;
    }>(sql`
      select case grouping(fraud_type, station_id, risk_level) when 3 then 'byFraudType' when 5 then 'byStation' else 'byRiskLevel' end as dimension,
             coalesce(fraud_type, station_id, risk_level) as key,
             count(*) as received,
             count(*) filter (where outcome = 'dissuaded') as dissuaded,
             coalesce(sum(amount_at_risk_fen) filter (where outcome = 'dissuaded'), 0) as prevented
        from alerts
       where received_at >= ${from} and received_at < ${to}
       group by grouping sets ((fraud_type), (station_id), (risk_level))
       order by dimension, count(*) desc, key`);
    const result: Breakdowns = {
      byFraudType: [],
      byStation: [],
      byRiskLevel: [],
    };
    for (const r of found)
      result[r.dimension as Dimension].push({
        key: r.key,
        received: num(r.received),
        dissuaded: num(r.dissuaded),
        preventedLossFen: num(r.prevented),
      });
    return result;
  }

  /** The figures of [from, to) from the rows: exact, in a time that grows with the rows in the period. */
  async function exactFigures(fromDate: Date, toDate: Date): Promise<Figures> {
    // Timestamps go in as text with a cast: postgres.js does not serialise Date parameters of raw SQL.
    const from = at(fromDate);
    const to = at(toDate);
    const previousFrom = at(new Date(fromDate.getTime() - (toDate.getTime() - fromDate.getTime())));
    // Independent queries, run side by side on the pool (one after the other on the embedded database).
    const [closed, [received], [closeTimes], breaches, [cases], breakdown] = await Promise.all([
      all<{ outcome: string; count: string; amount: string }>(sql`
        select outcome, count(*) as count, coalesce(sum(amount_at_risk_fen), 0) as amount
          from alerts
         where closed_at >= ${from} and closed_at < ${to}
         group by outcome`),
      // Alerts received in this period and the one before, and the quantiles of the time to the first
      // call; the time to close in a query of its own, so that the two sorts run side by side.
      all<{ current: string; previous: string; call: number[] | string | null }>(sql`
        select count(*) filter (where received_at >= ${from}) as current,
               count(*) filter (where received_at < ${from}) as previous,
               percentile_cont(array[0.5, 0.9]) within group (order by date_part('epoch', first_call_at - received_at))
                 filter (where received_at >= ${from} and first_call_at is not null) as call
          from alerts
         where received_at >= ${previousFrom} and received_at < ${to}`),
      all<{ close: number[] | string | null }>(sql`
        select percentile_cont(array[0.5, 0.9]) within group (order by date_part('epoch', closed_at - received_at)) as close
          from alerts
         where received_at >= ${from} and received_at < ${to} and closed_at is not null`),
      all<{ deadline: string; level: string; count: string }>(sql`
        select detail->>'deadline' as deadline, detail->>'level' as level, count(*) as count
          from case_events
         where kind = 'deadline_missed' and at >= ${from} and at < ${to}
         group by 1, 2`),
      all<Record<string, string | null> & { approval: number[] | string | null; stop: number[] | string | null }>(sql`
        select count(*) filter (where created_at >= ${from} and created_at < ${to}) as requested,
               count(*) filter (where approved_at >= ${from} and approved_at < ${to}) as approved,
               count(*) filter (where rejected_at >= ${from} and rejected_at < ${to}) as rejected,
               count(*) filter (where major and created_at >= ${from} and created_at < ${to}) as major,
               coalesce(sum(requested_fen) filter (where created_at >= ${from} and created_at < ${to}), 0) as requested_fen,
               coalesce(sum(stopped_fen) filter (where created_at >= ${from} and created_at < ${to}), 0) as stopped_fen,
               coalesce(sum(frozen_fen) filter (where created_at >= ${from} and created_at < ${to}), 0) as frozen_fen,
               percentile_cont(array[0.5, 0.9]) within group (order by date_part('epoch', approved_at - reported_at)) filter (where approved_at >= ${from} and approved_at < ${to}) as approval,
               percentile_cont(array[0.5, 0.9]) within group (order by date_part('epoch', first_stop_at - reported_at)) filter (where first_stop_at >= ${from} and first_stop_at < ${to}) as stop
          from stop_payments
         where (created_at >= ${from} and created_at < ${to})
            or (approved_at >= ${from} and approved_at < ${to})
            or (rejected_at >= ${from} and rejected_at < ${to})
            or (first_stop_at >= ${from} and first_stop_at < ${to})`),
      breakdowns(from, to),
    ]);
    return {
      received: num(received?.current),
      previousReceived: num(received?.previous),
      closed: closed.map((r) => ({ outcome: r.outcome, count: num(r.count), amount: num(r.amount) })),
      breaches: breaches.map((r) => ({ deadline: r.deadline, level: r.level, count: num(r.count) })),
      receiptToFirstCall: quantiles(received?.call),
      receiptToClose: quantiles(closeTimes?.close),
      cases: {
        requested: num(cases?.requested),
        approved: num(cases?.approved),
        rejected: num(cases?.rejected),
        majorCases: num(cases?.major),
        requestedFen: num(cases?.requested_fen),
        stoppedFen: num(cases?.stopped_fen),
        frozenFen: num(cases?.frozen_fen),
        reportToApproval: quantiles(cases?.approval),
        reportToFirstStop: quantiles(cases?.stop),
      },
      breakdown,
    };
  }

  /** The figures of [from, to) from the rollups and the rows of its partial edge hours. */
  async function rolledUpFigures(fromDate: Date, toDate: Date): Promise<Figures> {
    const previousFrom = new Date(fromDate.getTime() - (toDate.getTime() - fromDate.getTime()));
    const [found, previous] = await Promise.all([
      contributionsBetween(db, fromDate, toDate),
      contributionsBetween(db, previousFrom, fromDate, ['received']),
    ]);
    return figuresOf(found, previous[0]?.n ?? 0);
  }

  return {
    /** The statistics `user` asked for: [from, to), by default the last 24 hours, at most five years. */
    async forPeriod(user: User, period: { from?: string; to?: string }) {
      requireRole(user, MAY.readStats);
      const { from, to } = checkedPeriod(period);
      return this.compute(from, to);
    },

    /**
     * Alerts received per hour over [from, to) — per day, in the center's zone, when the period is
     * longer than three days — every bucket present, empty ones as 0.
     */
    async receivedOverTime(user: User, period: { from?: string; to?: string }, timeZone: string) {
      requireRole(user, MAY.readStats);
      const { from, to } = checkedPeriod(period);
      const unit = to.getTime() - from.getTime() > 3 * DAY ? 'day' : 'hour';
      const rows = await all<{ bucket: string; received: string }>(sql`
        with counts as (
          select date_trunc(${unit}, received_at at time zone ${timeZone}) as bucket, count(*) as received
            from alerts
           where received_at >= ${at(from)} and received_at < ${at(to)}
           group by 1)
        select to_char(s.bucket, 'YYYY-MM-DD"T"HH24:MI') as bucket, coalesce(c.received, 0) as received
          from generate_series(date_trunc(${unit}, ${at(from)} at time zone ${timeZone}),
                               date_trunc(${unit}, (${at(to)} - interval '1 microsecond') at time zone ${timeZone}),
                               ('1 ' || ${unit})::interval) as s(bucket)
          left join counts c on c.bucket = s.bucket
         order by s.bucket`);
      return { unit, buckets: rows.map((r) => ({ at: r.bucket, received: num(r.received) })) };
    },

    /** The statistics of [from, to): exact up to a day, from the rollups beyond. */
    async compute(fromDate: Date, toDate: Date) {
      const longPeriod = toDate.getTime() - fromDate.getTime() > EXACT_UP_TO;
      return report(fromDate, toDate, await (longPeriod ? rolledUpFigures : exactFigures)(fromDate, toDate));
    },

    /** The statistics of [from, to) from the rows alone, whatever its length (to check the rollups against). */
    async computeExactly(fromDate: Date, toDate: Date) {
      return report(fromDate, toDate, await exactFigures(fromDate, toDate));
    },
  };
}

export type StatsService = ReturnType<typeof createStatsService>;
