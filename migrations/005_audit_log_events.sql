-- Audit rows written from events: the event_id makes the audit worker idempotent
-- (a redelivered event adds no second row).
ALTER TABLE audit_logs ADD COLUMN event_id uuid;
ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_event_id_key UNIQUE (event_id);
CREATE INDEX audit_logs_created_at_idx ON audit_logs (created_at);

-- The audit log is append-only. UPDATE and TRUNCATE are refused outright, for every
-- role including the table's owner and superusers; DELETE only for rows older than the
-- retention the purge declares in its own transaction:
--   SELECT set_config('user_services.audit_retention_days', '365', true);
-- A DELETE without that setting, or of a row younger than it, is refused.
CREATE FUNCTION audit_logs_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE FUNCTION audit_logs_guard_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  setting text := current_setting('user_services.audit_retention_days', true);
  days integer;
BEGIN
  IF setting IS NULL OR setting !~ '^[0-9]{1,6}$' OR setting::integer < 1 THEN
    RAISE EXCEPTION 'audit_logs rows may only be deleted by the retention purge (user_services.audit_retention_days is not set)'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  days := setting::integer;
  IF OLD.created_at >= now() - make_interval(days => days) THEN
    RAISE EXCEPTION 'audit_logs row % is younger than the retention of % days', OLD.id, days
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN OLD;
END $$;

CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs
  FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_refuse_change();
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
  FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_refuse_change();
CREATE TRIGGER audit_logs_retention_delete BEFORE DELETE ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION audit_logs_guard_delete();

-- Fire even under session_replication_role = replica, which a superuser could set to
-- skip ordinary triggers.
ALTER TABLE audit_logs ENABLE ALWAYS TRIGGER audit_logs_no_update;
ALTER TABLE audit_logs ENABLE ALWAYS TRIGGER audit_logs_no_truncate;
ALTER TABLE audit_logs ENABLE ALWAYS TRIGGER audit_logs_retention_delete;

-- Indexes the retention purges (workers/maintenance) walk, so each batch is a short
-- index range scan rather than a sequential scan under lock.
CREATE INDEX login_attempts_created_at_idx ON login_attempts (created_at);
CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX reactions_completed_at_idx ON reactions (completed_at) WHERE completed_at IS NOT NULL;
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX password_resets_expires_at_idx ON password_resets (expires_at);
