ALTER TABLE "audit_access_log" ADD COLUMN "subject" text;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "acknowledged_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "acknowledged_by" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "disabled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "disabled_by" text;--> statement-breakpoint
CREATE INDEX "alerts_queue_order_idx" ON "alerts" USING btree ("state",coalesce("deadline", 'infinity'::timestamptz),"risk_rank","received_at","alert_id");--> statement-breakpoint
CREATE INDEX "alerts_victim_phone_idx" ON "alerts" USING btree ("victim_phone","received_at");--> statement-breakpoint
CREATE INDEX "holds_account_idx" ON "holds" USING btree ("account");--> statement-breakpoint
CREATE INDEX "stop_payments_victim_phone_idx" ON "stop_payments" USING btree ("victim_phone","created_at");--> statement-breakpoint
CREATE INDEX "stop_payments_transfers_idx" ON "stop_payments" USING gin (("detail" -> 'transfers') jsonb_path_ops);