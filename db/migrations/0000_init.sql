CREATE TABLE "alerts" (
	"alert_id" text PRIMARY KEY NOT NULL,
	"workflow_id" text NOT NULL,
	"state" text NOT NULL,
	"outcome" text,
	"risk_level" text NOT NULL,
	"risk_rank" smallint NOT NULL,
	"fraud_type" text NOT NULL,
	"station_id" text NOT NULL,
	"source" text NOT NULL,
	"issued_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"victim_phone" text NOT NULL,
	"victim_name" text,
	"assignee_id" text,
	"assignee_name" text,
	"call_attempts" smallint DEFAULT 0 NOT NULL,
	"escalation_level" smallint DEFAULT 0 NOT NULL,
	"overdue" boolean DEFAULT false NOT NULL,
	"deadline" timestamp with time zone,
	"amount_at_risk_fen" bigint,
	"stop_payment_id" text,
	"first_call_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"seq" integer NOT NULL,
	"detail" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "api_tokens" (
	"token_id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"label" text,
	"token_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "audit_access_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"action" text NOT NULL,
	"workflow_id" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_archive" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"workflow_id" text NOT NULL,
	"run_id" text NOT NULL,
	"workflow_type" text NOT NULL,
	"status" text NOT NULL,
	"closed_at" timestamp with time zone NOT NULL,
	"history" jsonb NOT NULL,
	"sha256" text NOT NULL,
	"prev_sha256" text,
	"archived_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "case_events" (
	"workflow_id" text NOT NULL,
	"seq" integer NOT NULL,
	"case_type" text NOT NULL,
	"case_id" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"kind" text NOT NULL,
	"actor_user_id" text,
	"actor_role" text,
	"detail" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "case_events_workflow_id_seq_pk" PRIMARY KEY("workflow_id","seq")
);
--> statement-breakpoint
CREATE TABLE "holds" (
	"hold_id" text PRIMARY KEY NOT NULL,
	"stop_payment_id" text NOT NULL,
	"level" smallint NOT NULL,
	"parent_hold_id" text,
	"bank" text NOT NULL,
	"account" text NOT NULL,
	"state" text NOT NULL,
	"requested_fen" bigint NOT NULL,
	"stopped_fen" bigint DEFAULT 0 NOT NULL,
	"frozen_fen" bigint DEFAULT 0 NOT NULL,
	"expires_at" timestamp with time zone,
	"legal_doc_ref" text,
	"stopped_at" timestamp with time zone,
	"seq" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"user_id" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"status_code" smallint,
	"response" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_keys_user_id_key_pk" PRIMARY KEY("user_id","key")
);
--> statement-breakpoint
CREATE TABLE "notifications" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"dedupe_key" text NOT NULL,
	"recipient_role" text NOT NULL,
	"recipient_user_id" text,
	"kind" text NOT NULL,
	"case_type" text NOT NULL,
	"case_id" text NOT NULL,
	"workflow_id" text NOT NULL,
	"message" text NOT NULL,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text
);
--> statement-breakpoint
CREATE TABLE "stop_payments" (
	"stop_payment_id" text PRIMARY KEY NOT NULL,
	"workflow_id" text NOT NULL,
	"state" text NOT NULL,
	"created_by_id" text NOT NULL,
	"created_by_name" text NOT NULL,
	"approved_by_id" text,
	"approved_by_name" text,
	"reported_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"approved_at" timestamp with time zone,
	"rejected_at" timestamp with time zone,
	"first_stop_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"deadline" timestamp with time zone,
	"escalation_level" smallint DEFAULT 0 NOT NULL,
	"major" boolean DEFAULT false NOT NULL,
	"requested_fen" bigint DEFAULT 0 NOT NULL,
	"stopped_fen" bigint DEFAULT 0 NOT NULL,
	"frozen_fen" bigint DEFAULT 0 NOT NULL,
	"alert_id" text,
	"case_ref" text,
	"victim_phone" text NOT NULL,
	"victim_name" text,
	"seq" integer NOT NULL,
	"detail" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"user_id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"roles" text[] NOT NULL,
	"station_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_user_id_users_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("user_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "alerts_queue_idx" ON "alerts" USING btree ("state","deadline","risk_rank","received_at");--> statement-breakpoint
CREATE INDEX "alerts_station_idx" ON "alerts" USING btree ("station_id","state");--> statement-breakpoint
CREATE INDEX "alerts_received_idx" ON "alerts" USING btree ("received_at");--> statement-breakpoint
CREATE INDEX "alerts_closed_idx" ON "alerts" USING btree ("closed_at");--> statement-breakpoint
CREATE UNIQUE INDEX "api_tokens_hash_idx" ON "api_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "api_tokens_user_idx" ON "api_tokens" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "audit_access_log_at_idx" ON "audit_access_log" USING btree ("at");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_archive_run_idx" ON "audit_archive" USING btree ("workflow_id","run_id");--> statement-breakpoint
CREATE INDEX "audit_archive_type_idx" ON "audit_archive" USING btree ("workflow_type");--> statement-breakpoint
CREATE INDEX "case_events_case_idx" ON "case_events" USING btree ("case_type","case_id","at");--> statement-breakpoint
CREATE INDEX "case_events_kind_idx" ON "case_events" USING btree ("kind","at");--> statement-breakpoint
CREATE INDEX "holds_case_idx" ON "holds" USING btree ("stop_payment_id");--> statement-breakpoint
CREATE UNIQUE INDEX "notifications_dedupe_idx" ON "notifications" USING btree ("dedupe_key");--> statement-breakpoint
CREATE INDEX "notifications_pending_idx" ON "notifications" USING btree ("delivered_at","id");--> statement-breakpoint
CREATE INDEX "notifications_case_idx" ON "notifications" USING btree ("case_type","case_id");--> statement-breakpoint
CREATE INDEX "stop_payments_state_idx" ON "stop_payments" USING btree ("state","deadline");--> statement-breakpoint
CREATE INDEX "stop_payments_created_by_idx" ON "stop_payments" USING btree ("created_by_id");--> statement-breakpoint
CREATE INDEX "stop_payments_reported_idx" ON "stop_payments" USING btree ("reported_at");