-- Refresh token rotation (POST /token/refresh) and session lifetimes.

-- When the session was last used: its sign-in, then each refresh. The idle timeout
-- (SESSION_IDLE_TIMEOUT_DAYS) counts from here. Existing sessions take their newest
-- refresh token's issue time.
ALTER TABLE sessions ADD COLUMN last_used_at timestamptz NOT NULL DEFAULT now();
UPDATE sessions s
   SET last_used_at = greatest(s.created_at, (SELECT max(t.issued_at) FROM refresh_tokens t WHERE t.session_id = s.id));

-- Each refresh token names the token it replaced. At most one successor per token: a
-- session's tokens form a single chain, so however many refreshes race with one token,
-- the session can never split into two families.
ALTER TABLE refresh_tokens ADD COLUMN parent_id uuid REFERENCES refresh_tokens (id) ON DELETE CASCADE;
CREATE UNIQUE INDEX refresh_tokens_one_successor ON refresh_tokens (parent_id);
