DROP INDEX "alerts_received_idx";--> statement-breakpoint
DROP INDEX "alerts_closed_idx";--> statement-breakpoint
CREATE INDEX "alerts_received_stats_idx" ON "alerts" USING btree ("received_at","outcome","risk_level","fraud_type","station_id","amount_at_risk_fen","first_call_at","closed_at");--> statement-breakpoint
CREATE INDEX "alerts_closed_stats_idx" ON "alerts" USING btree ("closed_at","outcome","amount_at_risk_fen");--> statement-breakpoint
CREATE INDEX "case_events_breaches_idx" ON "case_events" USING btree ("at","detail") WHERE "case_events"."kind" = 'deadline_missed';