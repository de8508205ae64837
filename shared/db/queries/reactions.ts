import type { JobName, JobPayloads } from '../../queues/jobs.js';
import type { Queryable } from '../pool.js';

export interface Reaction<N extends JobName = JobName> {
  event_id: string;
  job_name: N;
  payload: JobPayloads[N];
}

/** Records reactions owed (idempotent); returns those that were new. */
export async function insertReactions(db: Queryable, reactions: Reaction[]): Promise<Reaction[]> {
  if (reactions.length === 0) return [];
  const { rows } = await db.query<Reaction>(
    `INSERT INTO reactions (event_id, job_name, payload)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[])
     ON CONFLICT DO NOTHING
     RETURNING event_id, job_name, payload`,
    [reactions.map((r) => r.event_id), reactions.map((r) => r.job_name), reactions.map((r) => JSON.stringify(r.payload))],
  );
  return rows;
}

export async function markReactionsEnqueued(db: Queryable, reactions: Array<Pick<Reaction, 'event_id' | 'job_name'>>): Promise<void> {
  if (reactions.length === 0) return;
  await db.query(
    `UPDATE reactions r SET enqueued_at = now()
       FROM unnest($1::uuid[], $2::text[]) AS t(event_id, job_name)
      WHERE r.event_id = t.event_id AND r.job_name = t.job_name`,
    [reactions.map((r) => r.event_id), reactions.map((r) => r.job_name)],
  );
}

/**
 * Reactions not completed within timeoutSeconds of being enqueued, or never enqueued
 * although recorded more than freshSeconds ago (the younger ones are still on their way).
 */
export async function findOverdueReactions(db: Queryable, timeoutSeconds: number, freshSeconds: number, limit: number): Promise<Reaction[]> {
  const { rows } = await db.query<Reaction>(
    `SELECT event_id, job_name, payload FROM reactions
      WHERE completed_at IS NULL
        AND (enqueued_at IS NULL AND created_at < now() - make_interval(secs => $2)
             OR enqueued_at < now() - make_interval(secs => $1))
      ORDER BY enqueued_at NULLS FIRST
      LIMIT $3`,
    [timeoutSeconds, freshSeconds, limit],
  );
  return rows;
}

/**
 * Claims one reaction for its worker's transaction by recording it completed at once:
 * the row lock this takes holds until that transaction ends, so a duplicate delivery
 * waits, then finds it completed; should the action fail, the rollback undoes the mark.
 * A reaction without its row (a job added by a replay) is recorded, completed, here.
 * Returns false when it was already completed: there is nothing to do. The common path
 * is one statement (the UPDATE), the payload is sent only when the row is missing.
 */
export async function claimReaction<N extends JobName>(db: Queryable, jobName: N, payload: JobPayloads[N]): Promise<boolean> {
  const updated = await db.query({
    name: 'claim-reaction',
    text: 'UPDATE reactions SET completed_at = now() WHERE event_id = $1 AND job_name = $2 AND completed_at IS NULL',
    values: [payload.event_id, jobName],
  });
  if (updated.rowCount === 1) return true;
  // No row, or one completed (perhaps by the delivery this one waited for).
  const inserted = await db.query(
    `INSERT INTO reactions (event_id, job_name, payload, completed_at) VALUES ($1, $2, $3, now())
     ON CONFLICT DO NOTHING`,
    [payload.event_id, jobName, JSON.stringify(payload)],
  );
  return inserted.rowCount === 1;
}

/**
 * Gives up a reaction that can never succeed: done for the sweep (completed_at), marked
 * given_up_at with the reason so it stays findable and replayable.
 */
export async function giveUpReaction(db: Queryable, eventId: string, jobName: JobName, reason: string): Promise<void> {
  await db.query(
    `UPDATE reactions SET completed_at = coalesce(completed_at, now()), given_up_at = now(), last_error = left($3, 2000)
      WHERE event_id = $1 AND job_name = $2 AND given_up_at IS NULL`,
    [eventId, jobName, reason],
  );
}

export interface GivenUpReaction {
  event_id: string;
  job_name: string;
  given_up_at: Date;
  last_error: string | null;
}

/** The reactions given up, newest first. */
export async function findGivenUpReactions(db: Queryable, limit: number): Promise<GivenUpReaction[]> {
  const { rows } = await db.query<GivenUpReaction>(
    'SELECT event_id, job_name, given_up_at, last_error FROM reactions WHERE given_up_at IS NOT NULL ORDER BY given_up_at DESC LIMIT $1',
    [limit],
  );
  return rows;
}

/** Puts an event's given-up reactions back in line for the sweep; returns their job names. */
export async function resetGivenUpReactions(db: Queryable, eventId: string): Promise<string[]> {
  const { rows } = await db.query<{ job_name: string }>(
    `UPDATE reactions SET completed_at = NULL, given_up_at = NULL, last_error = NULL, enqueued_at = NULL
      WHERE event_id = $1 AND given_up_at IS NOT NULL RETURNING job_name`,
    [eventId],
  );
  return rows.map((row) => row.job_name);
}

/**
 * Deletes up to `limit` reactions completed more than `days` ago; returns how many.
 * Pending ones stay, and so do given-up ones (also marked completed) until an operator
 * replays them: `outbox:replay --list` is where they are found.
 */
export async function deleteCompletedReactionsOlderThan(db: Queryable, days: number, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM reactions WHERE (event_id, job_name) IN (
       SELECT event_id, job_name FROM reactions WHERE completed_at < now() - make_interval(days => $1) AND given_up_at IS NULL
        LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [days, limit],
  );
  return rowCount ?? 0;
}

export type ReactionKey = Pick<Reaction, 'event_id' | 'job_name'>;

/**
 * Locks many reaction rows at once, in (event_id, job_name) order so that two workers
 * locking overlapping sets cannot deadlock; returns each found row's completion.
 */
export async function lockReactions(db: Queryable, keys: ReactionKey[]): Promise<Array<ReactionKey & { completed: boolean }>> {
  if (keys.length === 0) return [];
  const { rows } = await db.query<ReactionKey & { completed: boolean }>(
    `SELECT r.event_id, r.job_name, r.completed_at IS NOT NULL AS completed
       FROM reactions r JOIN unnest($1::uuid[], $2::text[]) AS k(event_id, job_name)
         ON r.event_id = k.event_id AND r.job_name = k.job_name
      ORDER BY r.event_id, r.job_name
        FOR UPDATE OF r`,
    [keys.map((k) => k.event_id), keys.map((k) => k.job_name)],
  );
  return rows;
}

export async function completeReactions(db: Queryable, keys: ReactionKey[]): Promise<void> {
  if (keys.length === 0) return;
  await db.query(
    `UPDATE reactions r SET completed_at = now()
       FROM unnest($1::uuid[], $2::text[]) AS k(event_id, job_name)
      WHERE r.event_id = k.event_id AND r.job_name = k.job_name`,
    [keys.map((k) => k.event_id), keys.map((k) => k.job_name)],
  );
}
