import type { Pool } from '../../shared/db/pool.js';
import { findOverdueReactions, type ReactionKey } from '../../shared/db/queries/reactions.js';
import type { Logger } from '../../shared/logger.js';
import type { ReactionLane } from './reaction-lane.js';

export interface ReactionSweeperOptions {
  pool: Pool;
  lane: ReactionLane;
  /** Removes the finished (failed or completed) jobs of these reactions, so adding them runs them again; returns how many. */
  clearFinished: (reactions: ReactionKey[]) => Promise<number>;
  log: Logger;
  timeoutSeconds: number;
  intervalMs: number;
}

const SWEEP_LIMIT = 5_000;

/**
 * Every intervalMs, hands the lane the reactions that were never enqueued or not
 * completed within timeoutSeconds of being enqueued (Redis lost them, or was away, or
 * their job failed after its last retry: such a job is cleared first, since re-adding a
 * job under a finished job's id would be a no-op).
 * Runs on the leader only, so relays do not enqueue the same reactions side by side;
 * skips a round while the lane is still busy with fresh ones.
 */
export function startReactionSweeper(options: ReactionSweeperOptions): { stop(): Promise<void> } {
  const { pool, lane, clearFinished, log, timeoutSeconds, intervalMs } = options;
  let sweeping: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (sweeping || lane.busy) return;
    sweeping = (async () => {
      const overdue = await findOverdueReactions(pool, timeoutSeconds, SWEEP_LIMIT);
      if (overdue.length === 0) return;
      const cleared = await clearFinished(overdue);
      log.info({ reactions: overdue.length, finished_jobs_cleared: cleared }, 're-enqueueing overdue reactions');
      lane.push(overdue);
    })()
      .catch((error: Error) => log.warn({ reason: error.message }, 'reaction sweep failed'))
      .finally(() => (sweeping = undefined));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await sweeping;
    },
  };
}
