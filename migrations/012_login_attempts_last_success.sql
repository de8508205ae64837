-- Anomaly scoring asks, for each attempt, whether and when the account last signed in
-- successfully before it. Answered from this index by reading one entry, instead of
-- gathering every earlier success of the account (which grew with its whole history).
CREATE INDEX login_attempts_user_successes_idx ON login_attempts (user_id, id) WHERE success;
