-- Second factors (issue 12): TOTP with replay protection, WebAuthn credentials (also
-- passkeys), single-use recovery codes, the short-lived challenges of a sign-in's
-- second step, and how each session was authenticated (amr).

ALTER TABLE mfa_methods
  -- NULL while a TOTP enrolment waits for its first code; only activated factors count.
  ADD COLUMN activated_at     timestamptz,
  -- TOTP: the last time step accepted; that step and every earlier one are refused.
  ADD COLUMN last_used_step   bigint,
  -- WebAuthn: the credential (base64url id), its signature counter, transports and backup flags.
  ADD COLUMN credential_id    text,
  ADD COLUMN sign_count       bigint,
  ADD COLUMN transports       text[],
  ADD COLUMN backup_eligible  boolean,
  ADD COLUMN backed_up        boolean,
  ADD COLUMN discoverable     boolean;
CREATE UNIQUE INDEX mfa_methods_credential_id_key ON mfa_methods (credential_id) WHERE credential_id IS NOT NULL;
-- Existing rows (there were no writers before) count as activated.
UPDATE mfa_methods SET activated_at = added_at WHERE activated_at IS NULL;

-- Recovery codes: shown once, stored as SHA-256 hashes, each single-use.
CREATE TABLE recovery_codes (
  id         bigserial PRIMARY KEY,
  user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash  text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  used_at    timestamptz,
  UNIQUE (user_id, code_hash)
);

-- The challenge of a second step: a sign-in whose password verified (purpose login), a
-- passkey sign-in (purpose passkey), a WebAuthn registration (purpose register). The client holds a random token; only its hash is
-- kept. It lives minutes, dies after too many wrong codes, and is spent by the first
-- successful step.
CREATE TABLE mfa_challenges (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id            uuid REFERENCES users(id) ON DELETE CASCADE,
  purpose            text NOT NULL CHECK (purpose IN ('login', 'passkey', 'register')),
  token_hash         text NOT NULL UNIQUE,
  -- The WebAuthn challenge handed out for this step, when one was asked for.
  webauthn_challenge text,
  ip_addr            inet,
  user_agent         text,
  failed_attempts    integer NOT NULL DEFAULT 0,
  created_at         timestamptz NOT NULL DEFAULT now(),
  expires_at         timestamptz NOT NULL,
  consumed_at        timestamptz
);
CREATE INDEX mfa_challenges_expires_idx ON mfa_challenges (expires_at);

-- RFC 8176 methods the session's sign-in used (pwd, otp, hwk, swk, mfa, user).
ALTER TABLE sessions ADD COLUMN amr text[] NOT NULL DEFAULT '{pwd}';
CREATE INDEX mfa_methods_user_idx ON mfa_methods (user_id);
