import { withTransaction, type Pool, type PoolClient } from '../db/pool.js';
import { claimReaction } from '../db/queries/reactions.js';
import type { JobName, JobPayloads } from './jobs.js';

export type ReactionOutcome = 'done' | 'already-done';

/**
 * Runs one reaction at most once per event: in the worker's own transaction it claims
 * the reaction row (recording it completed, which locks it), skips when it was already
 * completed, and acts. The row lock also keeps a duplicate delivery (a stalled job run
 * twice) from acting in parallel. An action that fails rolls back, the claim with it,
 * and the job is retried.
 */
export async function performReaction<N extends JobName>(
  pool: Pool,
  jobName: N,
  payload: JobPayloads[N],
  act: (tx: PoolClient) => Promise<void>,
): Promise<ReactionOutcome> {
  return withTransaction(pool, async (tx) => {
    if (!(await claimReaction(tx, jobName, payload))) return 'already-done';
    await act(tx);
    return 'done';
  });
}
