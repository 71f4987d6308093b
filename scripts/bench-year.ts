/**
 * A year of a city's read model for the statistics benchmark, generated in SQL: `rows` closed alerts
 * spread over the 365 days before now across 40 stations, five fraud types and three risk levels, each
 * with a realistic detail document (about a kilobyte, as a closed alert's view with its timeline is)
 * and its steps in case_events (received, claimed, call result, closed; one in ten missed its claim
 * deadline, one in fifty was escalated to the center head); one stop-payment case per twenty alerts.
 * The statistics' rollups are then rebuilt from all rows at once, as the migration backfilled them.
 */
import type postgres from 'postgres';

export async function generateYear(sql: postgres.Sql, prefix: string, rows: number): Promise<void> {
  // The rollup triggers are off for these inserts (superuser: the bench's own local server), and the
  // rollups are rebuilt once after them, in bucket order and on one stripe, as the migration backfills
  // them: a statement trigger would fold in a year at once in hash order, scattering a period's rows.
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await insertYear(tx, prefix, rows);
  });
  await sql`select stats_rollups_rebuild()`;
  // As autovacuum leaves a table that has settled: statistics and the visibility map (index-only scans).
  await sql`vacuum analyze alerts, case_events, stop_payments, stats_rollups`;
}

async function insertYear(sql: postgres.TransactionSql, prefix: string, rows: number): Promise<void> {
  const when = `now() - (g % 365) * interval '1 day' - (g % 1440) * interval '1 minute'`;
  await sql.unsafe(`
    insert into alerts (alert_id, workflow_id, state, outcome, risk_level, risk_rank, fraud_type, station_id, source, issued_at, received_at,
                        victim_phone, first_call_at, closed_at, amount_at_risk_fen, call_attempts, seq, detail)
    select '${prefix}-' || g, 'alert-${prefix}-' || g, 'closed',
           (array['dissuaded','defrauded','false_positive','unreachable','cancelled'])[1 + g % 5],
           (array['high','medium','low'])[1 + g % 3], g % 3,
           (array['investment','loan','order_brushing','romance','other'])[1 + g % 5],
           'station-' || (g % 40), 'ministry', ${when}, ${when}, '13800000000',
           ${when} + (30 + g % 300) * interval '1 second',
           ${when} + (600 + g % 3600) * interval '1 second',
           (g % 1000) * 10000, 1 + g % 3, 6,
           jsonb_build_object('alertId', '${prefix}-' || g, 'note', repeat('预警劝阻 ', 40),
                              'timeline', jsonb_build_array(jsonb_build_object('kind', 'received'), jsonb_build_object('kind', 'claimed'),
                                                            jsonb_build_object('kind', 'call_result'), jsonb_build_object('kind', 'closed')))
      from generate_series(1, ${rows}) as g`);
  await sql.unsafe(`
    insert into case_events (workflow_id, seq, case_type, case_id, at, kind, detail)
    select 'alert-${prefix}-' || g, s.seq, 'alert', '${prefix}-' || g, ${when} + s.seq * interval '1 minute', s.kind, s.detail
      from generate_series(1, ${rows}) as g
      cross join lateral (values (1, 'received', '{}'::jsonb), (2, 'claimed', '{}'::jsonb), (3, 'call_result', '{}'::jsonb), (4, 'closed', '{}'::jsonb),
                                 (5, case when g % 10 = 0 then 'deadline_missed' end, '{"deadline":"claim","level":1}'::jsonb),
                                 (6, case when g % 50 = 0 then 'deadline_missed' end, '{"deadline":"claim","level":2}'::jsonb)) as s(seq, kind, detail)
     where s.kind is not null`);
  await sql.unsafe(`
    insert into stop_payments (stop_payment_id, workflow_id, state, created_by_id, created_by_name, approved_by_id, approved_by_name,
                               reported_at, created_at, approved_at, rejected_at, first_stop_at, closed_at, major,
                               requested_fen, stopped_fen, frozen_fen, victim_phone, seq, detail)
    select 'SP-${prefix}-' || g, 'stop-payment-SP-${prefix}-' || g, 'closed', 'u-taker', '接警员', 'u-approver', '审批人',
           ${when}, ${when} + interval '2 minutes',
           case when g % 10 <> 0 then ${when} + (180 + g % 600) * interval '1 second' end,
           case when g % 10 = 0 then ${when} + interval '5 minutes' end,
           case when g % 10 <> 0 then ${when} + (240 + g % 900) * interval '1 second' end,
           ${when} + interval '2 days', g % 100 = 0,
           (g % 500 + 1) * 100000, (g % 400) * 100000, (g % 7 = 0)::int * (g % 300) * 100000, '13800000000', 5,
           jsonb_build_object('stopPaymentId', 'SP-${prefix}-' || g, 'note', repeat('紧急止付 ', 40))
      from generate_series(1, ${Math.ceil(rows / 20)}) as g`);
}
