-- Every event gets one global identity: the broker's message_id, job ids and
-- idempotency records all use it, so ids never repeat across databases or restores.
ALTER TABLE outbox ADD COLUMN event_id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE outbox ADD CONSTRAINT outbox_event_id_key UNIQUE (event_id);

-- The device of each attempt, for anomaly scoring and the sessions list.
ALTER TABLE login_attempts ADD COLUMN user_agent text;
CREATE INDEX login_attempts_email_time_idx ON login_attempts (email, created_at DESC);
CREATE INDEX login_attempts_ip_time_idx ON login_attempts (ip_addr, created_at DESC);

-- ES256 signing keys for access tokens. The private key is encrypted under a key
-- derived from APP_SECRET (the ciphertext names its key version); the public key is
-- published as a JWK. Retired keys stay until every token they signed has expired.
CREATE TABLE signing_keys (
  kid                   text PRIMARY KEY,
  algorithm             text NOT NULL DEFAULT 'ES256' CHECK (algorithm = 'ES256'),
  public_jwk            jsonb NOT NULL,
  private_key_encrypted text NOT NULL,
  created_at            timestamptz NOT NULL DEFAULT now(),
  retired_at            timestamptz,
  expires_at            timestamptz
);
-- At most one key signs at a time.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE retired_at IS NULL;
