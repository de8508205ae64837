-- Relay bookkeeping: a lease so a crashed relay's batch is picked up again, and a
-- failure count so a row that keeps failing is set aside (failed_at) for replay.
ALTER TABLE outbox
  ADD COLUMN attempts     integer NOT NULL DEFAULT 0,
  ADD COLUMN last_error   text,
  ADD COLUMN locked_until timestamptz,
  ADD COLUMN failed_at    timestamptz;
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE published_at IS NULL AND failed_at IS NULL;

-- Wake the relay as soon as a producing transaction commits (NOTIFY is delivered on commit).
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox', '');
  RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Reactions (mail, audit, scoring) owed for each event, tracked apart from the broker:
-- a row is written when the relay hands an event to the queues, and completed by the
-- worker in its own transaction. Rows not completed in time are enqueued again, so
-- losing Redis loses no reaction, and a worker checks completed_at before it acts.
CREATE TABLE reactions (
  event_id     uuid NOT NULL,
  job_name     text NOT NULL,
  payload      jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  enqueued_at  timestamptz,
  completed_at timestamptz,
  PRIMARY KEY (event_id, job_name)
);
CREATE INDEX reactions_pending_idx ON reactions (enqueued_at NULLS FIRST) WHERE completed_at IS NULL;
