-- A reaction whose job can never succeed (an unrecoverable failure) is given up: it is
-- no longer swept, like a completed one, but stays distinguishable with its reason so
-- operators can find it, and `npm run outbox:replay -- <event_id>` can run it again.
ALTER TABLE reactions
  ADD COLUMN given_up_at timestamptz,
  ADD COLUMN last_error  text;

CREATE INDEX reactions_given_up_idx ON reactions (given_up_at) WHERE given_up_at IS NOT NULL;
