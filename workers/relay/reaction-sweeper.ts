import type { Pool } from '../../shared/db/pool.js';
import { recordOutboxReactions } from '../../shared/db/queries/outbox.js';
import { findOverdueReactions, type ReactionKey } from '../../shared/db/queries/reactions.js';
import type { Logger } from '../../shared/logger.js';
import { REACTION_JOBS } from '../../shared/queues/jobs.js';
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
 * A reaction recorded this recently and not yet enqueued is still the lane's (it hands
 * reactions to Redis within LANE_MAX_DEFER_MS, 5 s, of their commit); older ones were
 * dropped (Redis away, the lane full) and are the sweeper's. Likewise an event written
 * this recently is still on its way through the relay, which records its reactions.
 */
const FRESH_SECONDS = 10;

/**
 * Every intervalMs, records the reactions of events the relay has not published within
 * FRESH_SECONDS (the broker refuses them or is away: their mail and audit row do not
 * wait for it), and hands the lane those and the reactions that were never enqueued or not
 * completed within timeoutSeconds of being enqueued (Redis lost them, or was away, or
 * their job failed after its last retry: such a job is cleared first, since re-adding a
 * job under a finished job's id would be a no-op).
 * Runs on the leader only, so relays do not enqueue the same reactions side by side.
 * It runs however busy the lane is (a steady stream of events keeps it busy), leaving
 * the lane the reactions recorded in the last FRESH_SECONDS; one it hands over twice is
 * added once, under its deterministic job id.
 */
export function startReactionSweeper(options: ReactionSweeperOptions): { stop(): Promise<void> } {
  const { pool, lane, clearFinished, log, timeoutSeconds, intervalMs } = options;
  let sweeping: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = (async () => {
      const unpublished = await recordOutboxReactions(pool, FRESH_SECONDS, SWEEP_LIMIT, REACTION_JOBS);
      if (unpublished.length > 0) {
        log.info({ reactions: unpublished.length }, 'recorded the reactions of events not published yet (the broker refuses them or is away)');
        lane.push(unpublished);
      }
      const overdue = await findOverdueReactions(pool, timeoutSeconds, FRESH_SECONDS, SWEEP_LIMIT);
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
