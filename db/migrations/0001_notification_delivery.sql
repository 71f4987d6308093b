DROP INDEX "notifications_pending_idx";--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "delivered_via" text;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "next_attempt_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "notifications_recipient_idx" ON "notifications" USING btree ("recipient_role","created_at");--> statement-breakpoint
CREATE INDEX "stop_payments_created_idx" ON "stop_payments" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "stop_payments_approved_idx" ON "stop_payments" USING btree ("approved_at");--> statement-breakpoint
CREATE INDEX "notifications_pending_idx" ON "notifications" USING btree ("id") WHERE "notifications"."delivered_at" is null;