ALTER TABLE "audit_archive" ALTER COLUMN "history" SET DATA TYPE text;--> statement-breakpoint
CREATE INDEX "audit_access_log_workflow_idx" ON "audit_access_log" USING btree ("workflow_id","id");--> statement-breakpoint
CREATE INDEX "audit_archive_closed_idx" ON "audit_archive" USING btree ("closed_at");