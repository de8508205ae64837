import { withTransaction, type Pool, type PoolClient } from '../db/pool.js';
import { completeReaction, insertReactions, lockReaction } from '../db/queries/reactions.js';
import type { JobName, JobPayloads } from './jobs.js';

export type ReactionOutcome = 'done' | 'already-done';

/**
 * Runs one reaction at most once per event: in the worker's own transaction it locks
 * the reaction row, skips when it is already completed, acts, and marks it completed.
 * The row lock also keeps a duplicate delivery (a stalled job run twice) from acting
 * in parallel. An action that fails rolls back, and the job is retried.
 */
export async function performReaction<N extends JobName>(
  pool: Pool,
  jobName: N,
  payload: JobPayloads[N],
  act: (tx: PoolClient) => Promise<void>,
): Promise<ReactionOutcome> {
  return withTransaction(pool, async (tx) => {
    let state = await lockReaction(tx, payload.event_id, jobName);
    if (!state) {
      // A job added without its row (for example by a replay): record it first.
      await insertReactions(tx, [{ event_id: payload.event_id, job_name: jobName, payload }]);
      state = await lockReaction(tx, payload.event_id, jobName);
    }
    if (state?.completed) return 'already-done';
    await act(tx);
    await completeReaction(tx, payload.event_id, jobName);
    return 'done';
  });
}
