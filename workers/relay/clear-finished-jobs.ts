import type { ReactionKey } from '../../shared/db/queries/reactions.js';
import { JOB_QUEUE, reactionJobId } from '../../shared/queues/jobs.js';
import type { Queues } from '../../shared/queues/queues.js';

/** Job states asked of Redis at once, at most. */
const CHUNK = 500;

/**
 * BullMQ keeps a finished job (failed after its last retry, or completed) under its id
 * for the dashboard, and adding a job with that id again is a no-op: a reaction whose
 * job failed for good would never run again. For reactions PostgreSQL still owes, this
 * removes such jobs so that the sweeper's add runs them once more; a job that waits,
 * runs or backs off is left alone. A job that completed just now is removed too: its
 * rerun finds the reaction done and does nothing. Returns how many jobs were removed.
 */
export async function clearFinishedReactionJobs(queues: Queues, reactions: ReactionKey[]): Promise<number> {
  let removed = 0;
  for (let start = 0; start < reactions.length; start += CHUNK) {
    const counts = await Promise.all(
      reactions.slice(start, start + CHUNK).map(async ({ event_id, job_name }) => {
        const queue = queues[JOB_QUEUE[job_name]];
        const jobId = reactionJobId(event_id, job_name);
        const state = await queue.getJobState(jobId);
        if (state !== 'failed' && state !== 'completed') return 0;
        return queue.remove(jobId);
      }),
    );
    removed += counts.reduce((sum, count) => sum + count, 0);
  }
  return removed;
}
