-- migrate: no-transaction
-- The operators' searches (GET /admin/users, GET /admin/audit) on tables that grow large,
-- built without blocking writes.

-- "Addresses starting with ...": a prefix LIKE on lower(email) with text_pattern_ops.
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_prefix_idx ON users (lower(email::text) text_pattern_ops);

-- Newest-first listings: accounts by creation, audit entries by action and by actor.
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_created_idx ON users (created_at DESC, id DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_logs_action_time_idx ON audit_logs (action, created_at DESC, id DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_logs_actor_time_idx ON audit_logs (actor_id, created_at DESC, id DESC) WHERE actor_id IS NOT NULL;
