ALTER TABLE "audit_archive" ADD COLUMN "mac" text;--> statement-breakpoint
ALTER TABLE "audit_archive" ADD COLUMN "mac_key_id" text;