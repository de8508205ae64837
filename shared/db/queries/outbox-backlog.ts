import type { Queryable } from '../pool.js';

/** What the outbox and the reactions owe right now: the gauges of the relay's /metrics. */
export interface OutboxBacklog {
  /** Rows waiting to be published (not set aside). */
  unpublished: number;
  /** Rows set aside after OUTBOX_MAX_ATTEMPTS counted failures, waiting for a replay. */
  setAside: number;
  /** Age of the oldest row waiting to be published; 0 when none waits. */
  oldestUnpublishedAgeSeconds: number;
  /** Reactions recorded and not completed yet. */
  reactionsPending: number;
  /** Reactions given up as never able to succeed, waiting for a replay. */
  reactionsGivenUp: number;
}

/**
 * One statement over the partial indexes of the pending, set-aside and given-up rows, so
 * a scrape costs the size of the backlog, not of the tables. The oldest row is the lowest
 * id (ids follow insertion), found on outbox_pending_idx.
 */
export async function readOutboxBacklog(db: Queryable): Promise<OutboxBacklog> {
  const { rows } = await db.query<{ unpublished: string; set_aside: string; oldest_age: number | null; reactions_pending: string; reactions_given_up: string }>(
    `SELECT
       (SELECT count(*) FROM outbox WHERE published_at IS NULL AND failed_at IS NULL) AS unpublished,
       (SELECT count(*) FROM outbox WHERE published_at IS NULL AND failed_at IS NOT NULL) AS set_aside,
       (SELECT extract(epoch FROM now() - created_at)::float8 FROM outbox
         WHERE published_at IS NULL AND failed_at IS NULL ORDER BY id LIMIT 1) AS oldest_age,
       (SELECT count(*) FROM reactions WHERE completed_at IS NULL) AS reactions_pending,
       (SELECT count(*) FROM reactions WHERE given_up_at IS NOT NULL) AS reactions_given_up`,
  );
  const row = rows[0]!;
  return {
    unpublished: Number(row.unpublished),
    setAside: Number(row.set_aside),
    oldestUnpublishedAgeSeconds: Math.max(0, row.oldest_age ?? 0),
    reactionsPending: Number(row.reactions_pending),
    reactionsGivenUp: Number(row.reactions_given_up),
  };
}
