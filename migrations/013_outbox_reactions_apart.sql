-- An event's reactions (mail, audit, anomaly) no longer wait for the broker: the relay
-- records them when it marks the event published, and the leader's reaction sweeper
-- records them for events still unpublished after a few seconds (the broker refuses
-- them or is away; DESIGN.md: reactions are tracked apart from the broker).
-- reactions_at says an event's reactions are in `reactions`.
ALTER TABLE outbox ADD COLUMN reactions_at timestamptz;
UPDATE outbox SET reactions_at = published_at WHERE published_at IS NOT NULL;
-- The sweeper asks only for events older than a few seconds, and reactions never
-- enqueued older than a few seconds: range scans, however long the backlog behind them.
CREATE INDEX outbox_reactions_pending_idx ON outbox (created_at) WHERE reactions_at IS NULL;
CREATE INDEX reactions_never_enqueued_idx ON reactions (created_at) WHERE enqueued_at IS NULL AND completed_at IS NULL;
