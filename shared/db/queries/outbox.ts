import type { DomainEvent } from '../../events.js';
import type { Queryable } from '../pool.js';

/** Writes an event in the caller's transaction, beside the change it describes. */
export async function insertOutboxEvent(db: Queryable, event: DomainEvent): Promise<void> {
  await db.query(
    `INSERT INTO outbox (event_id, aggregate_id, topic, type, payload, created_at)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [event.event_id, event.user_id, 'user.events', event.type, JSON.stringify(event), event.occurred_at],
  );
}
