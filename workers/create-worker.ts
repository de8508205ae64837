import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { JobName, JobPayloads, QueueName } from '../shared/queues/jobs.js';
import { queuePrefix } from '../shared/queues/queues.js';
import type { WorkerDeps } from './worker-deps.js';

export type Processors = { [N in JobName]?: (job: Job<JobPayloads[N], unknown, N>) => Promise<unknown> };

/**
 * Stall detection: a worker renews its job lock every lockDuration/2. When a worker is
 * killed its lock lapses after LOCK_DURATION_MS and the next stall check (every
 * STALLED_INTERVAL_MS) moves the job back to waiting, so it runs again within about
 * 45 s. A job that stalls more than MAX_STALLED_COUNT times fails.
 */
export const LOCK_DURATION_MS = 30_000;
export const STALLED_INTERVAL_MS = 15_000;
export const MAX_STALLED_COUNT = 2;

/**
 * A BullMQ worker for one queue that dispatches by job name to typed processors.
 * A job name nobody handles can never succeed, so it fails at once.
 */
export function createWorker(deps: WorkerDeps, queue: QueueName, processors: Processors, concurrency = 4): Worker {
  const worker = new Worker(
    queue,
    async (job: Job) => {
      const process = processors[job.name as JobName] as ((job: Job) => Promise<unknown>) | undefined;
      if (!process) throw new UnrecoverableError(`no processor for job "${job.name}" on queue ${queue}`);
      return process(job);
    },
    {
      connection: deps.workerRedis,
      prefix: queuePrefix(deps.config.queuePrefix),
      concurrency,
      lockDuration: LOCK_DURATION_MS,
      stalledInterval: STALLED_INTERVAL_MS,
      maxStalledCount: MAX_STALLED_COUNT,
    },
  );
  worker.on('failed', (job, error) =>
    deps.log.warn({ queue, job: job?.name, job_id: job?.id, attempts: job?.attemptsMade, reason: error.message }, 'job failed'),
  );
  worker.on('error', (error) => deps.log.warn({ queue, reason: error.message }, 'worker error'));
  return worker;
}
