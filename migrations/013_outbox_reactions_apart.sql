-- Reactions (mail, audit, anomaly) are recorded when the relay first claims an event,
-- or without publishing it while the broker is away, no longer when the broker confirms
-- it: an event the broker keeps refusing, or a broker outage, must not hold back its
-- mail and audit row (DESIGN.md: reactions are tracked apart from the broker).
-- reactions_at says an event's reactions are in `reactions`.
ALTER TABLE outbox ADD COLUMN reactions_at timestamptz;
UPDATE outbox SET reactions_at = published_at WHERE published_at IS NOT NULL;
CREATE INDEX outbox_reactions_pending_idx ON outbox (id) WHERE reactions_at IS NULL;
