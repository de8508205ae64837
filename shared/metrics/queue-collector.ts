import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import type { QueueName } from '../queues/jobs.js';
import type { Queues } from '../queues/queues.js';
import { METRICS_PREFIX } from './metrics.js';
import { registerScrapeGauges, type ScrapeGauges } from './scrape-collector.js';

/** The job states bullmq_jobs reports, as BullMQ's getJobCounts names them. */
export const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/**
 * `bullmq_jobs{queue,state}` for the given queues (a worker process: the queues of the
 * roles it runs), read with Queue#getJobCounts at each scrape.
 */
export function registerQueueCollector(registry: Registry, queues: Queues, names: readonly QueueName[], log: Logger): ScrapeGauges {
  return registerScrapeGauges(
    registry,
    'bullmq',
    () => Promise.all(names.map(async (name) => ({ name, counts: await queues[name].getJobCounts(...JOB_STATES) }))),
    [
      {
        name: `${METRICS_PREFIX}bullmq_jobs`,
        help: 'Jobs in each BullMQ queue of this process\'s roles, by state (completed and failed: those kept in the queue\'s history).',
        labelNames: ['queue', 'state'] as const,
        samples: (read) => read.flatMap(({ name, counts }) => JOB_STATES.map((state) => ({ labels: { queue: name, state }, value: counts[state] ?? 0 }))),
      },
    ],
    log,
  );
}
