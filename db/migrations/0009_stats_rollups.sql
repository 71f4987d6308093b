CREATE TABLE "stats_rollups" (
	"grain" text NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"measure" text NOT NULL,
	"key" text NOT NULL,
	"stripe" integer NOT NULL,
	"n" bigint NOT NULL,
	"total" bigint NOT NULL,
	CONSTRAINT "stats_rollups_grain_bucket_measure_key_stripe_pk" PRIMARY KEY("grain","bucket","measure","key","stripe")
);
--> statement-breakpoint
CREATE INDEX "stop_payments_rejected_idx" ON "stop_payments" USING btree ("rejected_at");--> statement-breakpoint
CREATE INDEX "stop_payments_first_stop_idx" ON "stop_payments" USING btree ("first_stop_at");--> statement-breakpoint
-- The statistics' rollups (services/stats.ts). What a row contributes is one function per table, shared
-- by the triggers (the delta of each write), the rebuild and the exact edges of a period: (at, measure,
-- key, n, total), `at` being when it counts. Durations go into a DDSketch-style log histogram of 1 %
-- relative accuracy: key ceil(ln(seconds) / ln(γ)), γ = 1.01 / 0.99; zero and less in the key 'zero'.
CREATE TYPE "stats_contribution" AS ("at" timestamptz, "measure" text, "key" text, "n" bigint, "total" bigint);--> statement-breakpoint
CREATE FUNCTION "stats_sketch_key"(seconds double precision) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN seconds > 0 THEN ceil(ln(seconds) / ln(1.01::float8 / 0.99::float8))::int::text ELSE 'zero' END
$$;--> statement-breakpoint
-- Alerts count when received (with their breakdowns and durations), outcomes when closed.
CREATE FUNCTION "stats_alert_contributions"(a "alerts")
	RETURNS SETOF stats_contribution LANGUAGE sql IMMUTABLE AS $$
	SELECT * FROM (VALUES
		(a.received_at, 'received', '', 1::bigint, 0::bigint),
		(a.received_at, 'fraud_type', a.fraud_type, 1, 0),
		(a.received_at, 'station', a.station_id, 1, 0),
		(a.received_at, 'risk_level', a.risk_level, 1, 0),
		(CASE WHEN a.outcome = 'dissuaded' THEN a.received_at END, 'dissuaded_fraud_type', a.fraud_type, 1, coalesce(a.amount_at_risk_fen, 0)),
		(CASE WHEN a.outcome = 'dissuaded' THEN a.received_at END, 'dissuaded_station', a.station_id, 1, coalesce(a.amount_at_risk_fen, 0)),
		(CASE WHEN a.outcome = 'dissuaded' THEN a.received_at END, 'dissuaded_risk_level', a.risk_level, 1, coalesce(a.amount_at_risk_fen, 0)),
		(CASE WHEN a.first_call_at IS NOT NULL THEN a.received_at END, 'call_seconds',
		 stats_sketch_key(date_part('epoch', a.first_call_at - a.received_at)), 1, 0),
		(CASE WHEN a.closed_at IS NOT NULL THEN a.received_at END, 'close_seconds',
		 stats_sketch_key(date_part('epoch', a.closed_at - a.received_at)), 1, 0),
		(a.closed_at, 'closed', coalesce(a.outcome, ''), 1, coalesce(a.amount_at_risk_fen, 0))
	) AS c ("at", "measure", "key", "n", "total") WHERE c.at IS NOT NULL
$$;--> statement-breakpoint
-- Cases count when filed (with their amounts), decisions when taken, stops when the first one held.
CREATE FUNCTION "stats_case_contributions"(s "stop_payments")
	RETURNS SETOF stats_contribution LANGUAGE sql IMMUTABLE AS $$
	SELECT * FROM (VALUES
		(s.created_at, 'cases_requested', '', 1::bigint, s.requested_fen),
		(CASE WHEN s.major THEN s.created_at END, 'cases_major', '', 1, 0),
		(s.created_at, 'cases_stopped', '', 1, s.stopped_fen),
		(s.created_at, 'cases_frozen', '', 1, s.frozen_fen),
		(s.approved_at, 'cases_approved', '', 1, 0),
		(s.rejected_at, 'cases_rejected', '', 1, 0),
		(s.approved_at, 'approval_seconds', stats_sketch_key(date_part('epoch', s.approved_at - s.reported_at)), 1, 0),
		(s.first_stop_at, 'stop_seconds', stats_sketch_key(date_part('epoch', s.first_stop_at - s.reported_at)), 1, 0)
	) AS c ("at", "measure", "key", "n", "total") WHERE c.at IS NOT NULL
$$;--> statement-breakpoint
-- Deadline breaches, keyed '<deadline>:<level>'.
CREATE FUNCTION "stats_event_contributions"(e "case_events")
	RETURNS SETOF stats_contribution LANGUAGE sql IMMUTABLE AS $$
	SELECT e.at, 'breaches', coalesce(e.detail ->> 'deadline', '') || ':' || coalesce(e.detail ->> 'level', ''), 1::bigint, 0::bigint
	 WHERE e.kind = 'deadline_missed'
$$;--> statement-breakpoint
-- Every contribution that counts in [range_from, range_to), from the rows themselves.
CREATE FUNCTION "stats_contributions_between"(range_from timestamptz, range_to timestamptz)
	RETURNS SETOF stats_contribution LANGUAGE sql STABLE AS $$
	SELECT c.* FROM alerts a CROSS JOIN LATERAL stats_alert_contributions(a) c
	 WHERE ((a.received_at >= range_from AND a.received_at < range_to) OR (a.closed_at >= range_from AND a.closed_at < range_to))
	   AND c.at >= range_from AND c.at < range_to
	UNION ALL
	SELECT c.* FROM stop_payments s CROSS JOIN LATERAL stats_case_contributions(s) c
	 WHERE ((s.created_at >= range_from AND s.created_at < range_to) OR (s.approved_at >= range_from AND s.approved_at < range_to)
	     OR (s.rejected_at >= range_from AND s.rejected_at < range_to) OR (s.first_stop_at >= range_from AND s.first_stop_at < range_to))
	   AND c.at >= range_from AND c.at < range_to
	UNION ALL
	SELECT c.* FROM case_events e CROSS JOIN LATERAL stats_event_contributions(e) c
	 WHERE e.kind = 'deadline_missed' AND e.at >= range_from AND e.at < range_to
$$;--> statement-breakpoint
-- The rollup rows a contribution lands in.
CREATE FUNCTION "stats_grains"("at" timestamptz) RETURNS TABLE ("grain" text, "bucket" timestamptz) LANGUAGE sql STABLE AS $$
	SELECT g, date_trunc(g, "at", 'UTC') FROM unnest(ARRAY['hour', 'day', 'month']) AS g
$$;--> statement-breakpoint
-- Adds to the rollups what `added` contributes less what `removed` did. Each rollup row is updated on a
-- stripe no other transaction holds (SKIP LOCKED), or on a new stripe: a writer never waits on another
-- here, so concurrent projections of one hour neither queue nor deadlock. (plpgsql keeps its plan.)
CREATE FUNCTION "stats_rollups_add"(added stats_contribution[], removed stats_contribution[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	WITH changes AS (
		SELECT * FROM unnest(added)
		UNION ALL
		SELECT "at", measure, key, -n, -total FROM unnest(removed)),
	deltas AS (
		SELECT g.grain, g.bucket, c.measure, c.key, sum(c.n)::bigint AS n, sum(c.total)::bigint AS total
		  FROM changes c CROSS JOIN LATERAL stats_grains(c."at") g
		 GROUP BY 1, 2, 3, 4 HAVING sum(c.n) <> 0 OR sum(c.total) <> 0)
	INSERT INTO stats_rollups AS r (grain, bucket, measure, key, stripe, n, total)
	SELECT d.grain, d.bucket, d.measure, d.key, coalesce(free.stripe, 1 + floor(random() * 2147483646)::int), d.n, d.total
	  FROM deltas d
	  -- The first stripe of the row that nobody holds, locked; none free (or none yet): a new stripe.
	  LEFT JOIN LATERAL (
		SELECT s.stripe FROM stats_rollups s
		 WHERE s.grain = d.grain AND s.bucket = d.bucket AND s.measure = d.measure AND s.key = d.key
		 ORDER BY s.stripe LIMIT 1 FOR UPDATE SKIP LOCKED) AS free ON true
	ON CONFLICT (grain, bucket, measure, key, stripe) DO UPDATE SET n = r.n + excluded.n, total = r.total + excluded.total;
END;
$$;--> statement-breakpoint
-- After each statement on a counted table: what the written rows contribute now, less what they did
-- before. A replayed projection writes the same values (the two cancel out), a stale one is refused by
-- its seq guard and an event inserted twice is skipped by ON CONFLICT DO NOTHING (no row, no change).
CREATE FUNCTION "stats_alerts_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	added stats_contribution[] := '{}';
	removed stats_contribution[] := '{}';
BEGIN
	IF TG_OP <> 'DELETE' THEN added := ARRAY(SELECT c FROM new_rows r CROSS JOIN LATERAL stats_alert_contributions(r) c); END IF;
	IF TG_OP <> 'INSERT' THEN removed := ARRAY(SELECT c FROM old_rows r CROSS JOIN LATERAL stats_alert_contributions(r) c); END IF;
	IF cardinality(added) + cardinality(removed) > 0 THEN PERFORM stats_rollups_add(added, removed); END IF;
	RETURN NULL;
END;
$$;--> statement-breakpoint
CREATE FUNCTION "stats_stop_payments_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	added stats_contribution[] := '{}';
	removed stats_contribution[] := '{}';
BEGIN
	IF TG_OP <> 'DELETE' THEN added := ARRAY(SELECT c FROM new_rows r CROSS JOIN LATERAL stats_case_contributions(r) c); END IF;
	IF TG_OP <> 'INSERT' THEN removed := ARRAY(SELECT c FROM old_rows r CROSS JOIN LATERAL stats_case_contributions(r) c); END IF;
	IF cardinality(added) + cardinality(removed) > 0 THEN PERFORM stats_rollups_add(added, removed); END IF;
	RETURN NULL;
END;
$$;--> statement-breakpoint
CREATE FUNCTION "stats_case_events_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	added stats_contribution[] := '{}';
	removed stats_contribution[] := '{}';
BEGIN
	IF TG_OP <> 'DELETE' THEN added := ARRAY(SELECT c FROM new_rows r CROSS JOIN LATERAL stats_event_contributions(r) c); END IF;
	IF TG_OP <> 'INSERT' THEN removed := ARRAY(SELECT c FROM old_rows r CROSS JOIN LATERAL stats_event_contributions(r) c); END IF;
	IF cardinality(added) + cardinality(removed) > 0 THEN PERFORM stats_rollups_add(added, removed); END IF;
	RETURN NULL;
END;
$$;--> statement-breakpoint
-- Transition tables allow one event per trigger: three per table.
CREATE TRIGGER "stats_alerts_inserted" AFTER INSERT ON "alerts" REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION stats_alerts_changed();--> statement-breakpoint
CREATE TRIGGER "stats_alerts_updated" AFTER UPDATE ON "alerts" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION stats_alerts_changed();--> statement-breakpoint
CREATE TRIGGER "stats_alerts_deleted" AFTER DELETE ON "alerts" REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION stats_alerts_changed();--> statement-breakpoint
CREATE TRIGGER "stats_stop_payments_inserted" AFTER INSERT ON "stop_payments" REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION stats_stop_payments_changed();--> statement-breakpoint
CREATE TRIGGER "stats_stop_payments_updated" AFTER UPDATE ON "stop_payments" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION stats_stop_payments_changed();--> statement-breakpoint
CREATE TRIGGER "stats_stop_payments_deleted" AFTER DELETE ON "stop_payments" REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION stats_stop_payments_changed();--> statement-breakpoint
CREATE TRIGGER "stats_case_events_inserted" AFTER INSERT ON "case_events" REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION stats_case_events_changed();--> statement-breakpoint
CREATE TRIGGER "stats_case_events_updated" AFTER UPDATE ON "case_events" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION stats_case_events_changed();--> statement-breakpoint
CREATE TRIGGER "stats_case_events_deleted" AFTER DELETE ON "case_events" REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION stats_case_events_changed();--> statement-breakpoint
-- The rollups from the rows themselves, on one stripe: the backfill below, the benchmark's generated year,
-- and a repair. Writers wait meanwhile (their deltas would land on rows this replaces).
CREATE FUNCTION "stats_rollups_rebuild"() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	LOCK TABLE alerts, stop_payments, case_events IN SHARE MODE;
	DELETE FROM stats_rollups;
	INSERT INTO stats_rollups (grain, bucket, measure, key, stripe, n, total)
	SELECT g.grain, g.bucket, c.measure, c.key, 0, sum(c.n), sum(c.total)
	  FROM stats_contributions_between('-infinity', 'infinity') c CROSS JOIN LATERAL stats_grains(c."at") g
	 GROUP BY 1, 2, 3, 4
	 ORDER BY 1, 2, 3, 4; -- a period's rows side by side: a year reads a few hundred pages, not a page a row
END;
$$;--> statement-breakpoint
SELECT stats_rollups_rebuild();
