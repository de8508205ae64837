import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { JOB_QUEUE, QUEUE_NAMES, reactionJobId, type JobName, type JobPayloads, type QueueName } from './jobs.js';

export type Queues = Record<QueueName, Queue>;

/**
 * Retry with exponential backoff (1 s, 2 s, 4 s ... 64 s: about 2 minutes in all), each
 * delay jittered down by up to half, so the jobs that failed together in an outage do
 * not all come back at the same instant; keep a bounded history of completed and
 * failed jobs for the dashboard.
 */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 },
  removeOnComplete: { age: 3_600, count: 1_000 },
  removeOnFail: { count: 5_000 },
};

/** The queue key prefix: a Redis Cluster hash tag, so each install's keys share a slot. */
export function queuePrefix(prefix: string): string {
  return `{${prefix}}`;
}

/** The queues over one connection; a process builds its own with createQueueSet. */
export function createQueues(connection: ConnectionOptions, prefix: string): Queues {
  const entries = QUEUE_NAMES.map((name) => [
    name,
    new Queue(name, { connection, prefix: queuePrefix(prefix), defaultJobOptions: DEFAULT_JOB_OPTIONS }),
  ]);
  return Object.fromEntries(entries) as Queues;
}

/** Adds one reaction job with its deterministic id (a duplicate add is a no-op). */
export async function enqueueReaction<N extends JobName>(
  queues: Queues,
  jobName: N,
  payload: JobPayloads[N],
): Promise<void> {
  await queues[JOB_QUEUE[jobName]].add(jobName, payload, { jobId: reactionJobId(payload.event_id, jobName) });
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((queue) => queue.close()));
}
