-- Email verification tokens: random, stored only as their SHA-256, single use, 24 h.
-- A newer token for the same user expires the older unconsumed ones (expires_at is
-- pulled to the moment it was superseded), so the maintenance purge removes them too.
CREATE TABLE email_verification_tokens (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash  text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  consumed_at timestamptz
);
CREATE INDEX email_verification_tokens_user_idx ON email_verification_tokens (user_id, created_at DESC);
CREATE INDEX email_verification_tokens_expires_at_idx ON email_verification_tokens (expires_at);

-- When a reset was issued (the seed table had no such column).
ALTER TABLE password_resets ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX password_resets_user_idx ON password_resets (user_id, created_at DESC);

-- The cooldowns of "resend the verification mail" and "forgot password" are read from
-- the user's latest request events; this partial index keeps that lookup off the rest
-- of the (write-heavy) outbox.
CREATE INDEX outbox_mail_requests_idx ON outbox (aggregate_id, created_at DESC)
  WHERE type IN ('UserRegistered', 'EmailVerificationRequested', 'PasswordResetRequested');
