-- REGISTER_ENUMERATION_SAFE: a registration with a taken address writes
-- RegistrationAttempted for the account, at most once per cooldown. This partial index
-- keeps the cooldown's lookup of the account's latest such event off the rest of the outbox.
CREATE INDEX outbox_registration_attempts_idx ON outbox (aggregate_id, created_at DESC)
  WHERE type = 'RegistrationAttempted';
