-- Login anomaly scoring: each attempt's risk score and reasons, the guarded state of
-- an account after a burst of failures, and single-use "this wasn't me" tokens.

-- The network an address belongs to for "have we seen this place before": an IPv4 /24
-- or an IPv6 /64 (what one household, office or mobile carrier block usually spans).
CREATE FUNCTION login_ip_prefix(addr inet) RETURNS cidr
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN network(set_masklen(addr, CASE family(addr) WHEN 4 THEN 24 ELSE 64 END));

ALTER TABLE login_attempts
  ADD COLUMN ip_prefix    cidr GENERATED ALWAYS AS (login_ip_prefix(ip_addr)) STORED,
  ADD COLUMN risk_score   integer CHECK (risk_score BETWEEN 0 AND 100),
  ADD COLUMN risk_reasons jsonb,
  ADD COLUMN scored_at    timestamptz;

-- "Did this account ever sign in successfully from here / with this device?"
CREATE INDEX login_attempts_user_prefix_idx ON login_attempts (user_id, ip_prefix) WHERE success;
CREATE INDEX login_attempts_user_agent_idx ON login_attempts (user_id, user_agent) WHERE success;
-- Failure velocity per account.
CREATE INDEX login_attempts_user_failures_idx ON login_attempts (user_id, created_at) WHERE NOT success;

-- One row per account that was ever guarded. The account is guarded while
-- guarded_until is in the future: the state lifts by itself. released_at records that
-- UserUnlocked was emitted for the last guard (NULL while guarded or not yet announced).
CREATE TABLE account_guards (
  user_id       uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  reason        text NOT NULL,
  guarded_from  timestamptz NOT NULL,
  guarded_until timestamptz NOT NULL,
  released_at   timestamptz,
  CHECK (guarded_until > guarded_from)
);
CREATE INDEX account_guards_unreleased_idx ON account_guards (guarded_until) WHERE released_at IS NULL;

-- Tokens mailed in security notices ("this wasn't me"): random, stored only as their
-- SHA-256, single use, short-lived.
CREATE TABLE security_tokens (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  purpose     text NOT NULL CHECK (purpose IN ('not_me')),
  token_hash  text NOT NULL UNIQUE,
  expires_at  timestamptz NOT NULL,
  consumed_at timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX security_tokens_user_idx ON security_tokens (user_id);
CREATE INDEX security_tokens_expires_idx ON security_tokens (expires_at);

-- Set by "this wasn't me": the password must be reset before the next sign-in.
-- Any new password (reset, change) clears it.
ALTER TABLE users ADD COLUMN password_reset_required boolean NOT NULL DEFAULT false;
