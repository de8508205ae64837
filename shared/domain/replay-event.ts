import { withTransaction, type Pool } from '../db/pool.js';
import { findOutboxEventByEventId, resetOutboxEventForReplay, type OutboxEventState } from '../db/queries/outbox.js';
import { resetGivenUpReactions } from '../db/queries/reactions.js';

export type ReplayOutcome =
  | { kind: 'unknown' }
  /** Unpublished (set aside or still failing): back in line for the relay, attempts cleared. */
  | { kind: 'republishing'; event: OutboxEventState }
  /** Already published: its given-up reactions (possibly none) are back in line for the reaction sweep. */
  | { kind: 'reactions'; event: OutboxEventState; reactions: string[] };

/**
 * Puts an event back in line, whatever held it: an outbox row that was set aside (or is
 * still failing) is published again within a second; for a published event, the
 * reactions that were given up (mail, audit, scoring that failed as unrecoverable) run
 * again. What `npm run outbox:replay` and the admin API both do.
 */
export async function replayEvent(pool: Pool, eventId: string): Promise<ReplayOutcome> {
  return withTransaction(pool, async (tx) => {
    const event = await findOutboxEventByEventId(tx, eventId);
    if (!event) return { kind: 'unknown' };
    if (event.published_at) return { kind: 'reactions', event, reactions: await resetGivenUpReactions(tx, eventId) };
    await resetOutboxEventForReplay(tx, eventId);
    return { kind: 'republishing', event };
  });
}
