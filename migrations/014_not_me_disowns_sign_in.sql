-- "This wasn't me" disowns the sign-in its notice was about: that attempt, and the
-- account's later successes from the same network, no longer make that network or
-- device "known" to the account guard, the login limits or scoring.
ALTER TABLE security_tokens ADD COLUMN attempt_id bigint;
ALTER TABLE login_attempts ADD COLUMN disowned_at timestamptz;
